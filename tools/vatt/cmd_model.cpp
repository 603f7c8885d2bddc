// vatt model info / vatt bench model: model facts and training-step benchmark, through model/'s LibTorch-free
// headers (this directory must not include LibTorch: its fmt headers would shadow spdlog's).
#include <cstdio>
#include <string>
#include <vector>

#include "model/bench.h"
#include "model/config.h"
#include "model/info.h"
#include "tools/vatt/cli_common.h"

namespace vatt::cli {

int cmd_model(const Args& args) {
  po::options_description opts("vatt model info options");
  std::string what, config = "mbs";
  std::vector<std::string> sets;
  opts.add_options()                                                                                   //
      ("config", po::value(&config), "configuration name (mbs, bbs, lbs, sss, ma-medium, tiny, ...)")  //
      ("json", "print JSON: params per module, gflops per DropToken rate, fields")                     //
      ("set", po::value(&sets)->composing(), "override a config field: name=value (repeatable)");
  po::options_description hidden;
  hidden.add_options()("what", po::value(&what)->required(), "sub-command");
  po::positional_options_description pos;
  pos.add("what", 1);
  po::variables_map vm;
  const std::string usage =
      "usage: vatt model info [--config mbs] [--json] [--set field=value ...]\n"
      "Prints parameters per module and forward GFLOPs per clip at the config's input for DropToken rates\n"
      "0/25/50/75% (dense layers 2 FLOPs per multiply-add, attention products 1; see model/info.h).";
  if (auto rc = parse_args(args, usage, opts, pos, vm, hidden)) return *rc;
  if (what != "info") {
    std::fprintf(stderr, "vatt model: unknown sub-command '%s'; expected info\n", what.c_str());
    return 2;
  }
  try {
    const auto info = model::model_info(model::make_config(config, sets));
    std::fputs((vm.count("json") ? model::model_info_json(info) : model::format_model_info(info)).c_str(),
               stdout);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vatt model info: %s\n", e.what());
    return 2;
  }
  return 0;
}

int cmd_bench_model(const Args& args) {
  po::options_description opts("vatt bench model options");
  model::ModelBenchOptions o;
  opts.add_options()                                                                                     //
      ("config", po::value(&o.config)->default_value(o.config), "configuration name")                    //
      ("batch", po::value(&o.batch)->default_value(o.batch), "clips per step")                           //
      ("frames", po::value(&o.frames)->default_value(o.frames), "frames per clip")                       //
      ("res", po::value(&o.res)->default_value(o.res), "square crop size in pixels")                     //
      ("precision", po::value(&o.precision)->default_value(o.precision), "fp32, bf16 or auto")           //
      ("steps", po::value(&o.steps)->default_value(o.steps), "timed steps (median reported)")            //
      ("warmup", po::value(&o.warmup)->default_value(o.warmup), "untimed steps first")                   //
      ("threads", po::value(&o.threads)->default_value(o.threads), "intra-op threads, 0 = all")          //
      ("device", po::value(&o.device)->default_value(o.device), "auto, cpu or cuda[:N]")                 //
      ("n", po::value(&o.matmul_n)->default_value(o.matmul_n), "size of the yardstick matmul")           //
      ("set", po::value(&o.overrides)->composing(), "override a config field: name=value (repeatable)")  //
      ("profile", po::bool_switch(&o.profile), "profile one more step: operators by self CPU time")      //
      ("forward", po::bool_switch(&o.forward_only),
       "time inference (eval mode, no gradients, no DropToken: what the embed node runs) instead of "
       "training");
  po::positional_options_description pos;
  po::variables_map vm;
  const std::string usage =
      "usage: vatt bench model --config C --batch B --frames T --res R [--precision fp32|bf16] [--steps N]\n"
      "                        [--threads N]\n"
      "Times training steps (forward, backward, optimiser) on random data and compares the achieved GFLOP/s\n"
      "(3 x analytic forward FLOPs) with this machine's fp32/bf16 matmul rate measured in the same run.";
  if (auto rc = parse_args(args, usage, opts, pos, vm)) return *rc;
  try {
    std::fputs(model::format_model_bench(model::run_model_bench(o)).c_str(), stdout);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "vatt bench model: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vatt bench model: %s\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace vatt::cli
