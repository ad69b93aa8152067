#include "mscred/connectors/metrics_http.h"

#include <prometheus/text_serializer.h>

#include <boost/asio.hpp>
#include <stdexcept>

#include "mscred/connectors/log.h"

namespace mscred::connectors {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
constexpr auto kIoTimeout = std::chrono::seconds(5);
constexpr size_t kMaxRequestBytes = 8192;

// One request per connection (HTTP/1.0 style, Connection: close): what a scraper needs.
class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(tcp::socket socket, std::shared_ptr<prometheus::Registry> registry)
      : socket_(std::move(socket)),
        timer_(socket_.get_executor()),
        request_(kMaxRequestBytes),
        registry_(std::move(registry)) {}

  void start() {
    auto self = shared_from_this();
    timer_.expires_after(kIoTimeout);
    timer_.async_wait([self](boost::system::error_code ec) {
      if (!ec) {
        boost::system::error_code ignored;
        self->socket_.close(ignored);
      }
    });
    asio::async_read_until(socket_, request_, "\r\n\r\n",
                           [self](boost::system::error_code ec, size_t) {
                             if (!ec) self->respond();
                           });
  }

 private:
  void respond() {
    std::istream in(&request_);
    std::string method, target;
    in >> method >> target;
    std::string status = "200 OK", type = "text/plain; version=0.0.4; charset=utf-8", body;
    if (target != "/metrics" && target.rfind("/metrics?", 0) != 0) {
      status = "404 Not Found";
      type = "text/plain";
      body = "try /metrics\n";
    } else if (method != "GET" && method != "HEAD") {
      status = "405 Method Not Allowed";
      type = "text/plain";
      body = "GET only\n";
    } else {
      body = prometheus::TextSerializer().Serialize(registry_->Collect());
    }
    response_ = "HTTP/1.1 " + status + "\r\nContent-Type: " + type +
                "\r\nContent-Length: " + std::to_string(body.size()) +
                "\r\nConnection: close\r\n\r\n" + (method == "HEAD" ? "" : body);
    auto self = shared_from_this();
    asio::async_write(socket_, asio::buffer(response_), [self](boost::system::error_code, size_t) {
      boost::system::error_code ignored;
      self->socket_.shutdown(tcp::socket::shutdown_both, ignored);
      self->socket_.close(ignored);
      self->timer_.cancel();
    });
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  asio::streambuf request_;
  std::string response_;
  std::shared_ptr<prometheus::Registry> registry_;
};
}  // namespace

struct MetricsHttpServer::Impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::shared_ptr<prometheus::Registry> registry;

  void accept() {
    acceptor.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) std::make_shared<Exchange>(std::move(socket), registry)->start();
      accept();
    });
  }
};

MetricsHttpServer::MetricsHttpServer(const std::string& listen,
                                     std::shared_ptr<prometheus::Registry> registry)
    : impl_(std::make_unique<Impl>()) {
  impl_->registry = std::move(registry);
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) throw std::invalid_argument("metrics listen '" + listen + "'");
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  try {
    tcp::endpoint endpoint(asio::ip::make_address(host),
                           static_cast<uint16_t>(std::stoi(listen.substr(colon + 1))));
    impl_->acceptor.open(endpoint.protocol());
    impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
    impl_->acceptor.bind(endpoint);
    impl_->acceptor.listen();
  } catch (const std::exception& e) {
    throw std::runtime_error("metrics: cannot listen on " + listen + ": " + e.what());
  }
  port_ = impl_->acceptor.local_endpoint().port();
  impl_->accept();
  thread_ = std::thread([impl = impl_.get()] { impl->io.run(); });
}

MetricsHttpServer::~MetricsHttpServer() {
  asio::post(impl_->io, [impl = impl_.get()] {
    boost::system::error_code ignored;
    impl->acceptor.close(ignored);
    impl->io.stop();
  });
  if (thread_.joinable()) thread_.join();
}

}  // namespace mscred::connectors
