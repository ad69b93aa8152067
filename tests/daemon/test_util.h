#pragma once
// Helpers of the integration tests: loopback HTTP GET, a TCP client, polling waits.

#include <chrono>
#include <functional>
#include <string>

namespace mscred::daemon::testing {

//! GET http://127.0.0.1:port/path; returns the body ("" on failure).
std::string http_get(int port, const std::string& path);

//! Connects to 127.0.0.1:port; -1 on failure.
int tcp_connect(int port);
bool send_all(int fd, const std::string& data);
//! Reads until EOF or `timeout`.
std::string read_available(int fd, std::chrono::milliseconds timeout);

//! Polls `done` every 10 ms until it holds or `timeout` passes.
bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout);

//! JSON record line {"entity","ts","values":{...}} for sensors a,b,c.
std::string json_record(const std::string& entity, double ts, double a, double b, double c);

}  // namespace mscred::daemon::testing
