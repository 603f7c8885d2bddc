// Sub-commands of the `vatt` runner. Each takes the arguments after its name and returns the exit code:
// 0 success, 1 runtime failure, 2 invalid graph or usage, 128+N stopped by signal N.
#pragma once

#include <string>
#include <vector>

namespace vatt::cli {

using Args = std::vector<std::string>;

int cmd_run(const Args& args);
int cmd_check(const Args& args);
int cmd_nodes(const Args& args);
int cmd_version(const Args& args);
int cmd_bench(const Args& args);
int cmd_bench_model(const Args& args);  // `vatt bench model ...`, dispatched by cmd_bench
int cmd_model(const Args& args);
int cmd_clips(const Args& args);
int cmd_vocab(const Args& args);
int cmd_launch(const Args& args);
int cmd_search(const Args& args);
int cmd_models(const Args& args);
int cmd_export(const Args& args);
int cmd_serve(const Args& args);
int cmd_report(const Args& args);

}  // namespace vatt::cli
