#include "mscred/daemon/health_server.h"

#include <atomic>
#include <charconv>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
// GCC 12 with -fsanitize=address,undefined reports -Wmaybe-uninitialized inside Beast's
// parser (a boost::optional it fills before reading); the diagnostic lands in these headers,
// so it is silenced for them alone.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#pragma GCC diagnostic pop
#include <nlohmann/json.hpp>

namespace mscred::daemon {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

// Probes send a request line and a few headers; anything much larger is not a probe.
constexpr std::uint32_t kMaxHeaderBytes = 8 * 1024;
constexpr std::uint64_t kMaxBodyBytes = 1024;
constexpr std::string_view kHealthzPath = "/healthz";
constexpr std::string_view kReadyzPath = "/readyz";

// What the handlers need; shared with every session so a session that outlives the
// HealthServer (shared io_context form) still reads valid memory.
struct State {
  std::function<std::chrono::steady_clock::time_point()> clock;
  std::chrono::milliseconds liveness_timeout{0};
  std::chrono::milliseconds io_timeout{0};
  std::vector<HttpRoute> routes;
  std::atomic<std::chrono::steady_clock::rep> last_heartbeat{0};

  mutable std::mutex mutex;
  bool ready = false;
  std::string not_ready_reason = "starting";

  // Returns the status and JSON body for liveness.
  std::pair<http::status, nlohmann::json> liveness() const {
    if (liveness_timeout.count() == 0) return {http::status::ok, {{"status", "alive"}}};
    const auto last = std::chrono::steady_clock::time_point(
        std::chrono::steady_clock::duration(last_heartbeat.load()));
    const auto age = clock() - last;
    if (age <= liveness_timeout) return {http::status::ok, {{"status", "alive"}}};
    const double age_s = std::chrono::duration<double>(age).count();
    return {http::status::service_unavailable,
            {{"status", "stalled"},
             {"reason", "no heartbeat for " + std::to_string(age_s) + " s"},
             {"timeout_s", std::chrono::duration<double>(liveness_timeout).count()}}};
  }

  std::pair<http::status, nlohmann::json> readiness() const {
    std::lock_guard<std::mutex> lock(mutex);
    if (ready) return {http::status::ok, {{"status", "ready"}}};
    return {http::status::service_unavailable,
            {{"status", "not ready"}, {"reason", not_ready_reason}}};
  }

  // A 200 answer of an extra route, with its own content type.
  static http::response<http::string_body> plain(const http::request<http::string_body>& req,
                                                 const std::string& content_type,
                                                 std::string text) {
    http::response<http::string_body> res{http::status::ok, req.version()};
    res.set(http::field::server, "mscredd");
    res.set(http::field::content_type, content_type);
    res.set(http::field::cache_control, "no-store");
    res.keep_alive(req.keep_alive());
    res.body() = std::move(text);
    res.prepare_payload();
    if (req.method() == http::verb::head) res.body().clear();
    return res;
  }

  http::response<http::string_body> respond(const http::request<http::string_body>& req) const {
    // Probes never send a query string, but a curl by hand might; the path decides.
    std::string_view target(req.target().data(), req.target().size());
    target = target.substr(0, target.find('?'));

    http::status status = http::status::ok;
    nlohmann::json body;
    const HttpRoute* route = nullptr;
    for (const HttpRoute& r : routes) {
      if (target == r.path) route = &r;
    }
    const bool known = target == kHealthzPath || target == kReadyzPath || route != nullptr;
    if (!known) {
      status = http::status::not_found;
      nlohmann::json paths = {std::string(kHealthzPath), std::string(kReadyzPath)};
      for (const HttpRoute& r : routes)
        paths.push_back(r.path);
      body = {{"error", "not found"}, {"paths", paths}};
    } else if (req.method() != http::verb::get && req.method() != http::verb::head) {
      status = http::status::method_not_allowed;
      body = {{"error", "method not allowed"}, {"allow", "GET, HEAD"}};
    } else if (route != nullptr) {
      return plain(req, route->content_type, route->body());
    } else {
      std::tie(status, body) = target == kHealthzPath ? liveness() : readiness();
    }

    http::response<http::string_body> res{status, req.version()};
    res.set(http::field::server, "mscredd");
    res.set(http::field::content_type, "application/json");
    res.set(http::field::cache_control, "no-store");
    if (status == http::status::method_not_allowed) res.set(http::field::allow, "GET, HEAD");
    res.keep_alive(req.keep_alive());
    res.body() = body.dump() + "\n";
    res.prepare_payload();
    // HEAD keeps Content-Length of the GET answer but sends no body (RFC 9110 9.3.2).
    if (req.method() == http::verb::head) res.body().clear();
    return res;
  }
};

// One accepted connection: read a request, answer, repeat while the client keeps it alive.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<const State> state)
      : stream_(std::move(socket)), state_(std::move(state)) {}

  void start() { read(); }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    parser_->body_limit(kMaxBodyBytes);
    stream_.expires_after(state_->io_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset) {
      close();
      return;
    }
    if (ec) {
      // A malformed request gets a 400 naming the parser's complaint, then the close.
      response_ = http::response<http::string_body>(http::status::bad_request, 11);
      response_.set(http::field::content_type, "application/json");
      response_.body() = nlohmann::json{{"error", "bad request"}, {"detail", ec.message()}}.dump();
      response_.keep_alive(false);
      response_.prepare_payload();
    } else {
      response_ = state_->respond(parser_->get());
    }
    stream_.expires_after(state_->io_timeout);
    http::async_write(stream_, response_,
                      beast::bind_front_handler(&Session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec || !response_.keep_alive()) {
      close();
      return;
    }
    read();
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  std::shared_ptr<const State> state_;
};

// Accepts connections until the acceptor closes; holds itself alive through its handler.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(net::io_context& io, const tcp::endpoint& endpoint, std::shared_ptr<const State> state)
      : acceptor_(io), state_(std::move(state)) {
    const std::string where =
        endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
    beast::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec)
      throw std::runtime_error("health server: cannot listen on " + where + ": " + ec.message());
    local_ = acceptor_.local_endpoint();
  }

  void start() { accept(); }

  void stop() {
    beast::error_code ignored;
    acceptor_.close(ignored);
  }

  const tcp::endpoint& local() const { return local_; }

 private:
  void accept() {
    acceptor_.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted || !self->acceptor_.is_open()) return;
      // Other accept errors (EMFILE, ECONNABORTED) are transient: keep accepting.
      if (!ec) std::make_shared<Session>(std::move(socket), self->state_)->start();
      self->accept();
    });
  }

  tcp::acceptor acceptor_;
  tcp::endpoint local_;
  std::shared_ptr<const State> state_;
};

}  // namespace

struct HealthServer::Impl {
  std::shared_ptr<State> state;
  // Own-thread form only: the io_context, its work guard and thread.
  std::unique_ptr<net::io_context> own_io;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::thread thread;
  net::io_context* io = nullptr;
  std::shared_ptr<Listener> listener;
  bool stopped = false;

  void init(net::io_context& context, HealthServerOptions options) {
    io = &context;
    state = std::make_shared<State>();
    state->clock =
        options.clock ? std::move(options.clock) : [] { return std::chrono::steady_clock::now(); };
    state->liveness_timeout = options.liveness_timeout;
    state->io_timeout = options.io_timeout;
    state->routes = options.routes;
    state->last_heartbeat = state->clock().time_since_epoch().count();

    beast::error_code ec;
    const auto address = net::ip::make_address(options.address, ec);
    if (ec) {
      throw std::invalid_argument("health server: address '" + options.address +
                                  "' is not an IP literal (" + ec.message() + ")");
    }
    listener = std::make_shared<Listener>(context, tcp::endpoint(address, options.port), state);
    listener->start();
  }
};

HealthServerOptions HealthServerOptions::from_listen(std::string_view listen) {
  const auto fail = [&](const std::string& why) {
    return std::invalid_argument("health.listen '" + std::string(listen) + "': " + why +
                                 " (expected host:port, e.g. 127.0.0.1:9465 or [::1]:9465)");
  };
  const std::size_t colon = listen.rfind(':');
  if (colon == std::string_view::npos) throw fail("no port");
  std::string_view host = listen.substr(0, colon);
  const std::string_view port_text = listen.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    throw fail("IPv6 addresses need brackets");
  }
  if (host.empty()) throw fail("empty host");

  unsigned long port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    throw fail("port '" + std::string(port_text) + "' is not a number in 0..65535");
  }

  HealthServerOptions options;
  options.address = std::string(host);
  options.port = static_cast<uint16_t>(port);
  return options;
}

HealthServer::HealthServer(HealthServerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->own_io = std::make_unique<net::io_context>(1);
  impl_->work.emplace(net::make_work_guard(*impl_->own_io));
  impl_->init(*impl_->own_io, std::move(options));
  impl_->thread = std::thread([io = impl_->own_io.get()] { io->run(); });
}

HealthServer::HealthServer(net::io_context& io, HealthServerOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->init(io, std::move(options));
}

HealthServer::~HealthServer() {
  stop();
  if (impl_->thread.joinable()) {
    // Open sessions would otherwise keep run() busy until their io_timeout.
    impl_->own_io->stop();
    impl_->thread.join();
  }
}

void HealthServer::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  if (impl_->own_io) {
    // The acceptor belongs to the io thread; close it there, then let run() return.
    net::post(*impl_->own_io, [listener = impl_->listener] { listener->stop(); });
    impl_->work.reset();
  } else {
    impl_->listener->stop();
  }
}

void HealthServer::set_ready(bool ready, std::string reason) {
  std::lock_guard<std::mutex> lock(impl_->state->mutex);
  impl_->state->ready = ready;
  impl_->state->not_ready_reason = ready ? std::string() : std::move(reason);
  if (!ready && impl_->state->not_ready_reason.empty()) {
    impl_->state->not_ready_reason = "not ready";
  }
}

bool HealthServer::ready() const {
  std::lock_guard<std::mutex> lock(impl_->state->mutex);
  return impl_->state->ready;
}

void HealthServer::heartbeat() {
  impl_->state->last_heartbeat = impl_->state->clock().time_since_epoch().count();
}

uint16_t HealthServer::port() const {
  return impl_->listener->local().port();
}

std::string HealthServer::endpoint() const {
  const auto& local = impl_->listener->local();
  const std::string host = local.address().is_v6() ? "[" + local.address().to_string() + "]"
                                                   : local.address().to_string();
  return host + ":" + std::to_string(local.port());
}

}  // namespace mscred::daemon
