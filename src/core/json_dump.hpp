#pragma once
// JSON text that never throws on text from outside (argv, marker lines, stderr excerpts): bytes
// that are not valid UTF-8 become U+FFFD instead of losing a record that was already measured.
#include <nlohmann/json.hpp>
#include <string>

namespace greenbench {

inline std::string dump_json(const nlohmann::json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace greenbench
