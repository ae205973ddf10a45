// The shared op taxonomy: data/op_taxonomy.tsv, framework op name -> category.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "greenbench/error.hpp"
#include "greenbench/profile.hpp"
#include "greenbench/study.hpp"

#ifndef GREENBENCH_DATA_DIR
#define GREENBENCH_DATA_DIR ""
#endif

namespace greenbench {

namespace {

constexpr const char* kHeader = "framework\tname\tcategory";

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t tab = line.find('\t', start);
    out.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
    if (tab == std::string::npos) return out;
    start = tab + 1;
  }
}

std::string joined(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : ", ") + w;
  return out;
}

}  // namespace

const std::vector<std::string>& op_categories() {
  static const std::vector<std::string> categories = {
      "conv",      "matmul",    "norm",        "activation",   "pool",
      "embedding", "recurrent", "attention",   "softmax_loss", "elementwise",
      "reduction", "optimizer", "layout_copy", "nms_decode",   "other"};
  return categories;
}

OpTaxonomy OpTaxonomy::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(printable(path, 200) + ": cannot open the op taxonomy");
  const std::string file = printable(path, 200);
  const auto& categories = op_categories();
  const auto& frameworks = known_frameworks();
  OpTaxonomy taxonomy;
  std::map<std::pair<std::string, std::string>, int> first_line;
  bool header = false;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    const std::string where = file + ":" + std::to_string(number) + ": ";
    if (!header) {
      if (line != kHeader) {
        throw Error(where + "expected the header 'framework<TAB>name<TAB>category', got '" +
                    printable(line, 80) + "'");
      }
      header = true;
      continue;
    }
    const std::vector<std::string> cols = split_tabs(line);
    if (cols.size() != 3) {
      throw Error(where + "expected 3 tab-separated columns (framework, name, category), got " +
                  std::to_string(cols.size()));
    }
    const std::string& framework = cols[0];
    const std::string& name = cols[1];
    const std::string& category = cols[2];
    if (std::find(frameworks.begin(), frameworks.end(), framework) == frameworks.end()) {
      throw Error(where + "unknown framework '" + printable(framework, 80) + "' (expected one of " +
                  joined(frameworks) + ")");
    }
    if (name.empty()) throw Error(where + "empty op name");
    if (std::find(categories.begin(), categories.end(), category) == categories.end()) {
      throw Error(where + "unknown category '" + printable(category, 80) + "' (expected one of " +
                  joined(categories) + ")");
    }
    const auto key = std::make_pair(framework, name);
    if (const auto it = first_line.find(key); it != first_line.end()) {
      throw Error(where + "duplicate row for " + framework + " op '" + printable(name, 80) +
                  "' (first at line " + std::to_string(it->second) + ")");
    }
    first_line[key] = number;
    taxonomy.exact_[key] = category;
  }
  if (in.bad()) throw Error(file + ": read failed");
  if (!header) {
    throw Error(file + ": no header line 'framework<TAB>name<TAB>category' (the file is empty)");
  }
  return taxonomy;
}

std::string OpTaxonomy::find() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("GREENBENCH_OP_TAXONOMY"); env != nullptr && *env != '\0') {
    // An explicit choice is used or refused, never silently replaced by another table.
    if (!fs::is_regular_file(env)) {
      throw Error("GREENBENCH_OP_TAXONOMY: no such file '" + printable(env, 200) + "'");
    }
    return env;
  }
  std::vector<std::string> candidates;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    candidates.push_back(
        (exe.parent_path().parent_path() / "share/greenbench/op_taxonomy.tsv").string());
  }
  if (std::string(GREENBENCH_DATA_DIR).size() > 0) {
    candidates.push_back(std::string(GREENBENCH_DATA_DIR) + "/op_taxonomy.tsv");
  }
  for (const auto& c : candidates) {
    if (fs::is_regular_file(c, ec)) return c;
  }
  throw Error("no op taxonomy found (looked at " + joined(candidates) +
              "; set GREENBENCH_OP_TAXONOMY to its path)");
}

OpTaxonomy OpTaxonomy::builtin() { return load(find()); }

std::string OpTaxonomy::category(const std::string& framework, const std::string& name) const {
  const auto it = exact_.find({framework, name});
  return it == exact_.end() ? std::string() : it->second;
}

}  // namespace greenbench
