// The terminal: one progress line that log lines do not tear apart. Log lines go to stderr; on a terminal
// each one clears the progress line, prints, and redraws it.
#pragma once

#include <string>

namespace vatt::pipeline {

/// Makes spdlog's default logger write to stderr through the progress-aware sink. Call once, early.
void install_console_logger();
/// True when stderr is a terminal (progress is then a redrawn line, else periodic log lines).
bool console_is_tty();
/// Replaces the progress line (terminal only).
void console_progress(const std::string& line);
/// Ends the progress line: what it last showed stays on screen, later output starts on a new line.
void console_progress_done();

}  // namespace vatt::pipeline
