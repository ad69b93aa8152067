#include "mscred/connectors/tcp_source.h"

#include <boost/asio.hpp>

#include <deque>
#include <mutex>
#include <set>

#include "mscred/connectors/log.h"

namespace mscred::connectors {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
// Per connection, the first few bad lines are logged in full, the rest only counted (and
// summarised when the connection closes), so a broken client cannot flood the log.
constexpr uint64_t kLoggedErrorsPerConnection = 5;
constexpr size_t kMaxReplyBytes = 64 * 1024;
constexpr size_t kReadChunk = 64 * 1024;
}  // namespace

class Session;

struct TcpSource::Impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::mutex sessions_mutex;
  std::set<std::shared_ptr<Session>> sessions;
  bool stopping = false;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const TcpSourceOptions& options, RecordConsumer& consumer,
          TcpSource::Impl& owner)
      : socket_(std::move(socket)),
        options_(options),
        consumer_(consumer),
        owner_(owner),
        parser_(options.max_line_bytes),
        chunk_(kReadChunk) {
    boost::system::error_code ec;
    auto endpoint = socket_.remote_endpoint(ec);
    peer_ = ec ? std::string("?")
               : endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  }

  void start() { read(); }

  void close() {
    boost::system::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }

 private:
  void read() {
    auto self = shared_from_this();
    socket_.async_read_some(asio::buffer(chunk_),
                            [this, self](boost::system::error_code ec, size_t n) {
                              if (!ec) {
                                consume(std::string_view(chunk_.data(), n));
                                read();
                                return;
                              }
                              // EOF: a last line without its newline is still a line.
                              if (!line_.empty() && !discarding_) handle_line(line_);
                              line_.clear();
                              finish();
                            });
  }

  void consume(std::string_view data) {
    while (!data.empty()) {
      size_t nl = data.find('\n');
      std::string_view part = data.substr(0, nl);
      if (!discarding_) {
        if (line_.size() + part.size() > options_.max_line_bytes) {
          // Drop the rest of an over-long line, then resume at the next newline.
          discarding_ = true;
          line_.clear();
          ++line_number_;
          report(RejectReason::kTooLong,
                 "longer than max_line_bytes=" + std::to_string(options_.max_line_bytes));
        } else {
          line_.append(part);
        }
      }
      if (nl == std::string_view::npos) break;
      if (discarding_) {
        discarding_ = false;
      } else {
        handle_line(line_);
      }
      line_.clear();
      data.remove_prefix(nl + 1);
    }
  }

  void handle_line(const std::string& line) {
    ++line_number_;
    Record record;
    ParseStatus status;
    switch (options_.format) {
      case TcpSourceOptions::Format::kJson:
        status = parser_.parse_json(line, record);
        break;
      case TcpSourceOptions::Format::kCsv:
        status = parser_.parse_csv(line, record);
        break;
      case TcpSourceOptions::Format::kAuto:
        status = parser_.parse_auto(line, record);
        break;
    }
    if (!status.ok()) {
      report(status.reason, status.detail);
      return;
    }
    record.source = options_.name.c_str();
    record.ingest_time = std::chrono::steady_clock::now();
    consumer_.push(std::move(record));
  }

  void report(RejectReason reason, const std::string& detail) {
    consumer_.rejected(options_.name.c_str(), reason);
    ++errors_;
    if (errors_ <= kLoggedErrorsPerConnection) {
      logger("tcp")->warn("{} line {}: {}: {}", peer_, line_number_, reject_reason_name(reason),
                          detail);
    }
    if (options_.reply_errors) {
      reply("error line " + std::to_string(line_number_) + ": " + reject_reason_name(reason) +
            ": " + detail + "\n");
    }
  }

  // Error replies are best effort: a client that never reads gets at most kMaxReplyBytes
  // queued, the rest is dropped (the errors are still counted and logged).
  void reply(std::string text) {
    if (pending_bytes_ + text.size() > kMaxReplyBytes) return;
    pending_bytes_ += text.size();
    replies_.push_back(std::move(text));
    if (replies_.size() == 1) write();
  }

  void write() {
    auto self = shared_from_this();
    asio::async_write(socket_, asio::buffer(replies_.front()),
                      [this, self](boost::system::error_code ec, size_t) {
                        pending_bytes_ -= replies_.front().size();
                        replies_.pop_front();
                        if (!ec && !replies_.empty()) write();
                      });
  }

  void finish() {
    if (errors_ > kLoggedErrorsPerConnection) {
      logger("tcp")->warn("{}: {} bad lines in total ({} not logged)", peer_, errors_,
                          errors_ - kLoggedErrorsPerConnection);
    }
    logger("tcp")->debug("{} closed after {} lines", peer_, line_number_);
    std::lock_guard lock(owner_.sessions_mutex);
    owner_.sessions.erase(shared_from_this());
  }

  tcp::socket socket_;
  const TcpSourceOptions& options_;
  RecordConsumer& consumer_;
  TcpSource::Impl& owner_;
  RecordParser parser_;
  std::vector<char> chunk_;
  std::string line_;
  bool discarding_ = false;
  uint64_t line_number_ = 0;
  uint64_t errors_ = 0;
  std::string peer_;
  std::deque<std::string> replies_;
  size_t pending_bytes_ = 0;
};

TcpSource::TcpSource(TcpSourceOptions options, RecordConsumer& consumer)
    : options_(std::move(options)), consumer_(consumer), impl_(std::make_unique<Impl>()) {}

TcpSource::~TcpSource() {
  stop();
}

namespace {
void accept_loop(TcpSource::Impl& impl, const TcpSourceOptions& options, RecordConsumer& consumer,
                 std::atomic<uint64_t>& accepted) {
  impl.acceptor.async_accept([&](boost::system::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      logger("tcp")->warn("accept failed: {}", ec.message());
    } else {
      std::shared_ptr<Session> session;
      {
        std::lock_guard lock(impl.sessions_mutex);
        if (impl.stopping) return;
        if (impl.sessions.size() >= options.max_connections) {
          logger("tcp")->warn("refusing a connection: {} clients connected (max_connections)",
                              impl.sessions.size());
          boost::system::error_code ignored;
          socket.close(ignored);
        } else {
          session = std::make_shared<Session>(std::move(socket), options, consumer, impl);
          impl.sessions.insert(session);
        }
      }
      if (session) {
        accepted.fetch_add(1);
        session->start();
      }
    }
    accept_loop(impl, options, consumer, accepted);
  });
}
}  // namespace

void TcpSource::start() {
  auto address = asio::ip::make_address(options_.bind);
  tcp::endpoint endpoint(address, options_.port);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen();
  port_ = impl_->acceptor.local_endpoint().port();
  accept_loop(*impl_, options_, consumer_, accepted_);
  thread_ = std::thread([this] { impl_->io.run(); });
  logger("tcp")->info("{} listening on {}:{}", options_.name, options_.bind, port_.load());
}

void TcpSource::stop() {
  if (!thread_.joinable()) return;
  asio::post(impl_->io, [this] {
    boost::system::error_code ec;
    impl_->acceptor.close(ec);
    std::set<std::shared_ptr<Session>> sessions;
    {
      std::lock_guard lock(impl_->sessions_mutex);
      impl_->stopping = true;
      sessions = impl_->sessions;
    }
    for (const auto& s : sessions)
      s->close();
  });
  // The sessions finish on the io thread; run() returns when no work is left.
  thread_.join();
  std::lock_guard lock(impl_->sessions_mutex);
  impl_->sessions.clear();
}

}  // namespace mscred::connectors
