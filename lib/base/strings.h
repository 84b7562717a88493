// Small string helpers shared by the CLI, the pipeline parser and reports.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pare {

// Levenshtein distance, for "did you mean" suggestions.
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate nearest to `word` if it is close enough to be a likely typo, else "".
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

// " (did you mean 'x'?)" or "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

std::vector<std::string> split(std::string_view s, char sep);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
bool starts_with(std::string_view s, std::string_view prefix);

// fnmatch-style glob with * and ?, used by skip= options.
bool glob_match(std::string_view pattern, std::string_view text);

// "1.2 MB"-style sizes for humans (decimal units, as app stores show them).
std::string human_bytes(int64_t bytes);

// Parses "5MB", "750KiB", "1200", "3.5M" into bytes; throws pare::Error on bad text.
int64_t parse_size(std::string_view text);

// `text` as a whole number or a finite number, in std::stoll's / std::stod's
// syntax with every character used; nothing if it is not one (or out of range).
std::optional<int64_t> whole_number(const std::string& text);
std::optional<double> finite_number(const std::string& text);
// `text` as decimal digits only (not empty; no sign, spaces or exponent) that fit
// int64_t, as file formats write sizes and offsets; nothing otherwise. `too_large`,
// if given, tells a number beyond int64 from text that is no number at all.
std::optional<int64_t> decimal_digits(std::string_view text, bool* too_large = nullptr);

}  // namespace pare
