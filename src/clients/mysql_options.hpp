#pragma once
// Where and how to reach MySQL/MariaDB (MYSQL_HOST, MYSQL_PORT, ...). Plain data: the app maps
// Settings onto it, tests fill it directly.
#include <chrono>
#include <cstdint>
#include <string>

namespace gatewayd {

struct MySqlOptions {
  // "localhost" makes Connector/C use the unix socket (like the mysql client); use 127.0.0.1 for
  // TCP. unix_socket overrides the default socket path.
  std::string host = "localhost";
  std::uint16_t port = 3306;
  std::string unix_socket;
  std::string user;
  std::string password;  // never logged
  std::string database = "gateway_db";
  // Every network operation is bounded; Connector/C counts these in whole seconds (rounded up).
  std::chrono::milliseconds connect_timeout{3'000};
  std::chrono::milliseconds read_timeout{10'000};
  std::chrono::milliseconds write_timeout{10'000};
};

// "user@host:port/database" for log lines; never the password.
std::string describe(const MySqlOptions& options);

}  // namespace gatewayd
