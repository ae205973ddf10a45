#pragma once
// The one rule for the labels that name what is compared: frameworks, models and phases, in a
// study file, in an imported CSV and in an export.
#include <string>

namespace greenbench {

/// The label rule in words, as printed in error messages and the README.
inline constexpr const char* kLabelRule =
    "1 to 64 characters A-Z a-z 0-9 _ . -, starting with a letter or digit";

/// "" when `label` follows the rule; else one line saying why not, the same wherever it is used.
std::string label_problem(const std::string& label);

}  // namespace greenbench
