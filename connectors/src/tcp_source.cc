#include "mscred/connectors/tcp_source.h"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include <algorithm>
#include <chrono>
#include <deque>
#include <mutex>
#include <set>
#include <string_view>
#include <type_traits>
#include <vector>

#include "mscred/connectors/log.h"

namespace mscred::connectors {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {
// Per connection, the first few bad lines are logged in full, the rest only counted (and
// summarised when the connection closes), so a broken client cannot flood the log.
constexpr uint64_t kLoggedErrorsPerConnection = 5;
constexpr size_t kMaxReplyBytes = 64 * 1024;
// Per connection; 1,000 idle connections hold 16 MiB of read buffers.
constexpr size_t kReadChunk = 16 * 1024;
// A connection closed after an error reply gets this long to take the reply.
constexpr auto kCloseGrace = std::chrono::seconds(1);

Clock::duration seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

// Compares `given` with `secret` without an early exit, so the time taken does not tell
// how much of a guess was right.
bool same_secret(std::string_view given, std::string_view secret) {
  if (secret.empty()) return false;
  unsigned char diff = given.size() == secret.size() ? 0 : 1;
  for (size_t i = 0; i < given.size(); ++i)
    diff |= static_cast<unsigned char>(given[i] ^ secret[i % secret.size()]);
  return diff == 0;
}
}  // namespace

//! One client connection, on the io thread only.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void start() = 0;
  virtual void close() = 0;
  //! Closes the connection when it is past idle_timeout_s or line_timeout_s.
  virtual void check_timeouts(Clock::time_point now) = 0;
};

struct TcpSource::Impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  asio::steady_timer sweep{io};
  std::unique_ptr<ssl::context> tls;
  std::mutex sessions_mutex;
  std::set<std::shared_ptr<SessionBase>> sessions;
  bool stopping = false;
};

// Stream is tcp::socket (plain) or ssl::stream<tcp::socket> (TLS).
template <typename Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, tcp::socket>;

  template <typename... Args>
  Session(const TcpSourceOptions& options, RecordConsumer& consumer, TcpSource::Impl& owner,
          Args&&... stream_args)
      : stream_(std::forward<Args>(stream_args)...),
        options_(options),
        consumer_(consumer),
        owner_(owner),
        parser_(options.max_line_bytes),
        chunk_(kReadChunk),
        authed_(options.auth_token.empty()),
        handshaken_(!kTls) {
    boost::system::error_code ec;
    auto endpoint = stream_.lowest_layer().remote_endpoint(ec);
    peer_ = ec ? std::string("?")
               : endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
    last_activity_ = Clock::now();
    // The handshake and the AUTH line are bounded by line_timeout_s from the connection.
    if (kTls || !authed_) {
      partial_ = true;
      line_start_ = last_activity_;
    }
  }

  void start() override {
    if constexpr (kTls) {
      auto self = this->shared_from_this();
      stream_.async_handshake(ssl::stream_base::server, [this, self](boost::system::error_code ec) {
        // Timed out (counted then) and closed, or the source is stopping.
        if (closing_ || ec == asio::error::operation_aborted) {
          finish();
          return;
        }
        if (ec) {
          // Not TLS, an untrusted or missing client certificate, ...: count and close.
          report(RejectReason::kTlsHandshake, ec.message());
          close();
          finish();
          return;
        }
        handshaken_ = true;
        if (authed_) partial_ = false;
        last_activity_ = Clock::now();
        read();
      });
    } else {
      read();
    }
  }

  void close() override {
    boost::system::error_code ec;
    stream_.lowest_layer().shutdown(tcp::socket::shutdown_both, ec);
    stream_.lowest_layer().close(ec);
  }

  void check_timeouts(Clock::time_point now) override {
    if (closing_) {
      if (now - closing_since_ > kCloseGrace) close();
      return;
    }
    if (options_.idle_timeout_s > 0.0 && now - last_activity_ > seconds(options_.idle_timeout_s)) {
      close_with(RejectReason::kTimeout,
                 "nothing received for idle_timeout_s=" + fmt_seconds(options_.idle_timeout_s));
    } else if (options_.line_timeout_s > 0.0 && partial_ &&
               now - line_start_ > seconds(options_.line_timeout_s)) {
      close_with(RejectReason::kTimeout,
                 std::string(authed_ ? "line" : "AUTH line") + " not complete within " +
                     "line_timeout_s=" + fmt_seconds(options_.line_timeout_s));
    }
  }

 private:
  static std::string fmt_seconds(double s) {
    std::string t = std::to_string(s);
    t.erase(t.find_last_not_of('0') + 1);
    if (!t.empty() && t.back() == '.') t.pop_back();
    return t;
  }

  void read() {
    auto self = this->shared_from_this();
    stream_.async_read_some(asio::buffer(chunk_),
                            [this, self](boost::system::error_code ec, size_t n) {
                              if (!ec) {
                                last_activity_ = Clock::now();
                                // While closing, data is read and dropped until close() makes this
                                // read fail.
                                if (!closing_) consume(std::string_view(chunk_.data(), n));
                                read();
                                return;
                              }
                              // EOF (or a TLS peer that closed without close_notify): a last line
                              // without its newline is still a line.
                              if (!closing_ && !line_.empty() && !discarding_) handle_line(line_);
                              line_.clear();
                              finish();
                            });
  }

  void consume(std::string_view data) {
    while (!data.empty() && !closing_) {
      size_t nl = data.find('\n');
      std::string_view part = data.substr(0, nl);
      if (!partial_ && !part.empty()) {
        partial_ = true;
        line_start_ = last_activity_;
      }
      if (!discarding_) {
        if (line_.size() + part.size() > options_.max_line_bytes) {
          ++line_number_;
          if (!authed_) {
            close_with(RejectReason::kAuthFailed, "the first line must be AUTH <token>");
            return;
          }
          // Drop the rest of an over-long line, then resume at the next newline.
          discarding_ = true;
          line_.clear();
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
      if (authed_) partial_ = false;
      data.remove_prefix(nl + 1);
    }
  }

  void handle_line(const std::string& line) {
    ++line_number_;
    if (!authed_) {
      std::string_view l(line);
      if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
      constexpr std::string_view kAuth = "AUTH ";
      if (l.substr(0, kAuth.size()) == kAuth &&
          same_secret(l.substr(kAuth.size()), options_.auth_token)) {
        authed_ = true;
        partial_ = false;
        logger("tcp")->debug("{} authenticated", peer_);
      } else {
        // The line is not logged: it may hold a (wrong) secret.
        close_with(RejectReason::kAuthFailed, "the first line must be AUTH <token>");
      }
      return;
    }
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
    record.ingest_time = Clock::now();
    consumer_.push(std::move(record));
  }

  // Counts and answers `reason`, then closes once the reply is written (or after
  // kCloseGrace, for a client that does not read).
  void close_with(RejectReason reason, const std::string& detail) {
    if (line_number_ == 0) line_number_ = 1;
    report(reason, detail);
    closing_ = true;
    closing_since_ = Clock::now();
    if (replies_.empty()) close();
  }

  void report(RejectReason reason, const std::string& detail) {
    consumer_.rejected(options_.name.c_str(), reason);
    ++errors_;
    if (errors_ <= kLoggedErrorsPerConnection) {
      logger("tcp")->warn("{} line {}: {}: {}", peer_, line_number_, reject_reason_name(reason),
                          detail);
    }
    if (options_.reply_errors || reason == RejectReason::kAuthFailed) {
      reply("error line " + std::to_string(line_number_) + ": " + reject_reason_name(reason) +
            ": " + detail + "\n");
    }
  }

  // Error replies are best effort: a client that never reads gets at most kMaxReplyBytes
  // queued, the rest is dropped (the errors are still counted and logged).
  void reply(std::string text) {
    if (pending_bytes_ + text.size() > kMaxReplyBytes || !handshaken_) return;
    pending_bytes_ += text.size();
    replies_.push_back(std::move(text));
    if (replies_.size() == 1) write();
  }

  void write() {
    auto self = this->shared_from_this();
    asio::async_write(stream_, asio::buffer(replies_.front()),
                      [this, self](boost::system::error_code ec, size_t) {
                        pending_bytes_ -= replies_.front().size();
                        replies_.pop_front();
                        if (!ec && !replies_.empty()) {
                          write();
                        } else if (closing_) {
                          close();
                        }
                      });
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    if (errors_ > kLoggedErrorsPerConnection) {
      logger("tcp")->warn("{}: {} bad lines in total ({} not logged)", peer_, errors_,
                          errors_ - kLoggedErrorsPerConnection);
    }
    logger("tcp")->debug("{} closed after {} lines", peer_, line_number_);
    std::lock_guard lock(owner_.sessions_mutex);
    owner_.sessions.erase(this->shared_from_this());
  }

  Stream stream_;
  const TcpSourceOptions& options_;
  RecordConsumer& consumer_;
  TcpSource::Impl& owner_;
  RecordParser parser_;
  std::vector<char> chunk_;
  std::string line_;
  bool discarding_ = false;
  bool authed_;
  bool handshaken_;
  bool closing_ = false;
  bool finished_ = false;
  // A line (or the handshake / AUTH line) has begun and not ended; since line_start_.
  bool partial_ = false;
  Clock::time_point line_start_{};
  Clock::time_point last_activity_{};
  Clock::time_point closing_since_{};
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
      // EMFILE and the like: log, and keep accepting (the next try may find room).
      logger("tcp")->warn("accept failed: {}", ec.message());
    } else {
      std::shared_ptr<SessionBase> session;
      {
        std::lock_guard lock(impl.sessions_mutex);
        if (impl.stopping) return;
        if (impl.sessions.size() >= options.max_connections) {
          consumer.rejected(options.name.c_str(), RejectReason::kMaxConnections);
          logger("tcp")->debug("refusing a connection: {} clients connected (max_connections)",
                               impl.sessions.size());
          boost::system::error_code ignored;
          socket.close(ignored);
        } else if (impl.tls) {
          session = std::make_shared<Session<ssl::stream<tcp::socket>>>(
              options, consumer, impl, std::move(socket), *impl.tls);
        } else {
          session =
              std::make_shared<Session<tcp::socket>>(options, consumer, impl, std::move(socket));
        }
        if (session) impl.sessions.insert(session);
      }
      if (session) {
        accepted.fetch_add(1);
        session->start();
      }
    }
    accept_loop(impl, options, consumer, accepted);
  });
}

// One timer for every connection's idle and line timeouts.
void sweep_loop(TcpSource::Impl& impl, Clock::duration period) {
  impl.sweep.expires_after(period);
  impl.sweep.async_wait([&impl, period](boost::system::error_code ec) {
    if (ec) return;
    std::vector<std::shared_ptr<SessionBase>> sessions;
    {
      std::lock_guard lock(impl.sessions_mutex);
      if (impl.stopping) return;
      sessions.assign(impl.sessions.begin(), impl.sessions.end());
    }
    auto now = Clock::now();
    for (const auto& s : sessions)
      s->check_timeouts(now);
    sweep_loop(impl, period);
  });
}

std::unique_ptr<ssl::context> make_tls_context(const TcpSourceOptions::Tls& tls) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::single_dh_use);
  auto step = [](const char* what, const std::string& file, auto&& load) {
    try {
      load();
    } catch (const boost::system::system_error& e) {
      throw std::runtime_error(std::string("TLS ") + what + " '" + file + "': " + e.what());
    }
  };
  step("certificate", tls.cert_file, [&] { ctx->use_certificate_chain_file(tls.cert_file); });
  step("private key", tls.key_file,
       [&] { ctx->use_private_key_file(tls.key_file, ssl::context::pem); });
  if (!tls.ca_file.empty())
    step("CA file", tls.ca_file, [&] { ctx->load_verify_file(tls.ca_file); });
  if (tls.verify_client) {
    ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  }
  return ctx;
}
}  // namespace

void TcpSource::start() {
  if (!options_.tls.cert_file.empty()) impl_->tls = make_tls_context(options_.tls);
  auto address = asio::ip::make_address(options_.bind);
  tcp::endpoint endpoint(address, options_.port);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen(asio::socket_base::max_listen_connections);
  port_ = impl_->acceptor.local_endpoint().port();
  accept_loop(*impl_, options_, consumer_, accepted_);
  // One sweep for every connection: a quarter of the shortest timeout, between 10 ms and
  // 1 s (a connection is closed at most 25 % or 1 s late); also when both timeouts are off,
  // since it closes connections whose error reply was not taken within kCloseGrace.
  double shortest = 4.0;
  for (double t : {options_.idle_timeout_s, options_.line_timeout_s}) {
    if (t > 0.0) shortest = std::min(shortest, t);
  }
  sweep_loop(*impl_,
             std::clamp(seconds(shortest / 4.0), Clock::duration(std::chrono::milliseconds(10)),
                        Clock::duration(std::chrono::seconds(1))));
  thread_ = std::thread([this] { impl_->io.run(); });
  logger("tcp")->info("{} listening on {}:{}{}{}", options_.name, options_.bind, port_.load(),
                      impl_->tls ? " (TLS)" : "", options_.auth_token.empty() ? "" : " (token)");
}

void TcpSource::stop() {
  if (!thread_.joinable()) return;
  asio::post(impl_->io, [this] {
    boost::system::error_code ec;
    impl_->acceptor.close(ec);
    impl_->sweep.cancel();
    std::set<std::shared_ptr<SessionBase>> sessions;
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
