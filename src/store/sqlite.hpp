#pragma once
// A thin RAII layer over the SQLite C API: errors become greenbench::Error naming the file.
#include <sqlite3.h>

#include <string>

#include "greenbench/error.hpp"

namespace greenbench::store {

class Statement;

/// An open database connection.
class Database {
 public:
  Database(const std::string& file, int flags);
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  /// Runs SQL that returns no rows (one or more statements).
  void exec(const std::string& sql);
  [[nodiscard]] sqlite3* handle() const { return db_; }
  [[nodiscard]] const std::string& file() const { return file_; }
  [[noreturn]] void fail(const std::string& what) const;

 private:
  std::string file_;
  sqlite3* db_ = nullptr;
};

/// A prepared statement; bind() is 1-based, column() 0-based.
class Statement {
 public:
  Statement(Database& db, const std::string& sql);
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  Statement& bind(int index, double value);
  Statement& bind(int index, long long value);
  Statement& bind(int index, int value) { return bind(index, static_cast<long long>(value)); }
  Statement& bind(int index, const std::string& value);
  Statement& bind_null(int index);
  /// Steps once: true while a row is available.
  bool step();
  /// Steps a statement that returns no rows, then resets it for the next bind.
  void run();
  void reset();

  [[nodiscard]] bool is_null(int column) const;
  [[nodiscard]] double real(int column) const;
  [[nodiscard]] long long integer(int column) const;
  [[nodiscard]] std::string text(int column) const;

 private:
  Database& db_;
  sqlite3_stmt* stmt_ = nullptr;
};

/// BEGIN IMMEDIATE ... COMMIT; rolls back if destroyed before commit().
class Transaction {
 public:
  explicit Transaction(Database& db);
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();
  void commit();

 private:
  Database& db_;
  bool done_ = false;
};

}  // namespace greenbench::store
