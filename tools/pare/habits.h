// What a command line is expected to do for its user beyond its job: "did you
// mean" for a mistyped command or flag, an Examples block in each --help, and
// colour for pass and fail on a terminal (never in a pipe, never with NO_COLOR).
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace pare::cli {

// The candidate closest to `word` by edit distance, when it is close enough to
// be a typo (at most a third of the word's letters off); "" otherwise.
std::string closest(const std::string& word, const std::vector<std::string>& candidates);

// " ('inpsect' is no command: did you mean 'pare inspect'?)" for an argument of `argv` that names no command
// or no option of the command it follows; "" when none does. `app` is parsed.
std::string did_you_mean(const CLI::App& app, int argc, char** argv);

// The Examples block of a command's --help ("" for a command without one).
std::string examples(const std::string& command);

// True when text written to `stream` may carry ANSI colours: it is a terminal,
// NO_COLOR is unset or empty (https://no-color.org) and TERM is not "dumb";
// CLICOLOR_FORCE=1 forces colour (for tests and pagers), NO_COLOR still wins.
bool colour_enabled(std::FILE* stream);

// Colours the verdicts of a report's text: a line ending in "ok" or "over"
// (pare check's status column), "within budget" / "over budget", "held" /
// "not held", and "pare: check failed" / "pare: error" at a line's start.
std::string colour_verdicts(const std::string& text);

// fputs(text, stream), coloured when colour_enabled(stream).
void put_text(std::FILE* stream, const std::string& text);

}  // namespace pare::cli
