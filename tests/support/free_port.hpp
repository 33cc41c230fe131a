#pragma once
// Loopback ports for servers started by tests.
#include <chrono>
#include <cstdint>
#include <string>

namespace gatewayd::test {

// A TCP port on 127.0.0.1 that was free when asked (the kernel picks it by binding port 0).
// Ports already handed out by this process are not returned again, so two servers of one test
// never collide with each other. Throws std::runtime_error if no port can be obtained.
std::uint16_t free_port();

// True once a TCP connect to host:port succeeds; polls until `timeout` has passed.
bool wait_for_port(std::uint16_t port, std::chrono::milliseconds timeout,
                   const std::string& host = "127.0.0.1");

// True when a TCP connect to host:port succeeds right now (bounded by a short timeout).
bool port_accepts(std::uint16_t port, const std::string& host = "127.0.0.1");

}  // namespace gatewayd::test
