#pragma once
// TCP ingest: newline-delimited JSON records and CSV lines from many clients.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "mscred/connectors/source.h"

namespace mscred::connectors {

struct TcpSourceOptions {
  std::string name = "tcp";
  std::string bind = "127.0.0.1";  // loopback unless the operator opens it up
  uint16_t port = 7878;            // 0 = ephemeral (tests); see TcpSource::port()
  enum class Format { kAuto, kJson, kCsv } format = Format::kAuto;
  size_t max_line_bytes = 1 << 16;
  size_t max_connections = 256;
  //! Write "error line N: reason: detail" back to the client for each rejected line.
  bool reply_errors = true;
};

//! Owns an Asio io_context and its one thread, the acceptor and the connections. Each
//! connection splits its byte stream into lines, parses them and pushes records to the
//! consumer. A bad line is counted, logged with its line number (rate-limited) and
//! answered on the socket; the connection and its other lines go on. When the consumer's
//! queue is full, push() blocks the io thread, which stops reading from every client (TCP
//! flow control then slows the senders). start()/stop() from the owner's thread.
class TcpSource : public Source {
 public:
  TcpSource(TcpSourceOptions options, RecordConsumer& consumer);
  ~TcpSource() override;
  void start() override;
  void stop() override;
  const char* name() const override { return options_.name.c_str(); }
  //! Bound port (after start()).
  uint16_t port() const { return port_.load(); }
  uint64_t connections_accepted() const { return accepted_.load(); }

  struct Impl;

 private:
  TcpSourceOptions options_;
  RecordConsumer& consumer_;
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
  std::atomic<uint16_t> port_{0};
  std::atomic<uint64_t> accepted_{0};
};

}  // namespace mscred::connectors
