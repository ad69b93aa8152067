// HealthServer over a real loopback socket: each test binds an ephemeral port and talks
// HTTP/1.1 to it with a plain Beast client, as a kubelet probe or curl would.

#include "mscred/daemon/health_server.h"

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
// GCC 12 with -fsanitize=address,undefined reports -Wmaybe-uninitialized inside Beast's
// parser (a boost::optional it fills before reading); the diagnostic lands in these headers,
// so it is silenced for them alone.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#pragma GCC diagnostic pop
#include <nlohmann/json.hpp>

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using mscred::daemon::HealthServer;
using mscred::daemon::HealthServerOptions;

HealthServerOptions ephemeral() {
  HealthServerOptions options;
  options.port = 0;
  return options;
}

struct Reply {
  unsigned status = 0;
  std::string body;
  std::string content_type;
  std::string content_length;
};

// One exchange on an open stream.
Reply exchange(tcp::socket& socket, http::verb verb, const std::string& target,
               bool keep_alive = false) {
  http::request<http::empty_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.keep_alive(keep_alive);
  http::write(socket, req);

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  if (verb == http::verb::head) parser.skip(true);
  http::read(socket, buffer, parser);
  const auto& res = parser.get();
  return {res.result_int(), res.body(), std::string(res[http::field::content_type]),
          std::string(res[http::field::content_length])};
}

Reply request(uint16_t port, http::verb verb, const std::string& target) {
  net::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  return exchange(socket, verb, target);
}

Reply get(uint16_t port, const std::string& target) {
  return request(port, http::verb::get, target);
}

TEST(HealthServerTest, EphemeralPortIsReported) {
  HealthServer server(ephemeral());
  EXPECT_NE(server.port(), 0);
  EXPECT_EQ(server.endpoint(), "127.0.0.1:" + std::to_string(server.port()));
}

TEST(HealthServerTest, LivenessAnswers200WhileLoopRuns) {
  HealthServer server(ephemeral());
  const Reply reply = get(server.port(), "/healthz");
  EXPECT_EQ(reply.status, 200u);
  EXPECT_EQ(reply.content_type, "application/json");
  EXPECT_EQ(nlohmann::json::parse(reply.body).at("status"), "alive");
}

TEST(HealthServerTest, ReadinessIs503WithReasonUntilReady) {
  HealthServer server(ephemeral());
  server.set_ready(false, "loading model smd-machine-1-1");
  const Reply reply = get(server.port(), "/readyz");
  EXPECT_EQ(reply.status, 503u);
  const auto body = nlohmann::json::parse(reply.body);
  EXPECT_EQ(body.at("status"), "not ready");
  EXPECT_EQ(body.at("reason"), "loading model smd-machine-1-1");
}

TEST(HealthServerTest, ReadinessStartsNotReady) {
  HealthServer server(ephemeral());
  EXPECT_FALSE(server.ready());
  EXPECT_EQ(get(server.port(), "/readyz").status, 503u);
}

TEST(HealthServerTest, ReadinessFollowsSetReady) {
  HealthServer server(ephemeral());
  server.set_ready(true);
  Reply reply = get(server.port(), "/readyz");
  EXPECT_EQ(reply.status, 200u);
  EXPECT_EQ(nlohmann::json::parse(reply.body).at("status"), "ready");

  // Back to not ready (a Kafka rebalance took every partition away).
  server.set_ready(false, "no partitions assigned");
  reply = get(server.port(), "/readyz");
  EXPECT_EQ(reply.status, 503u);
  EXPECT_EQ(nlohmann::json::parse(reply.body).at("reason"), "no partitions assigned");
}

TEST(HealthServerTest, LivenessIgnoresReadiness) {
  HealthServer server(ephemeral());
  server.set_ready(false, "draining");
  EXPECT_EQ(get(server.port(), "/healthz").status, 200u);
}

TEST(HealthServerTest, QueryStringDoesNotChangeThePath) {
  HealthServer server(ephemeral());
  server.set_ready(true);
  EXPECT_EQ(get(server.port(), "/readyz?verbose=1").status, 200u);
}

TEST(HealthServerTest, UnknownPathIs404) {
  HealthServer server(ephemeral());
  const Reply reply = get(server.port(), "/metrics");
  EXPECT_EQ(reply.status, 404u);
  EXPECT_EQ(nlohmann::json::parse(reply.body).at("error"), "not found");
}

TEST(HealthServerTest, PostIs405) {
  HealthServer server(ephemeral());
  EXPECT_EQ(request(server.port(), http::verb::post, "/readyz").status, 405u);
}

TEST(HealthServerTest, HeadHasLengthButNoBody) {
  HealthServer server(ephemeral());
  server.set_ready(true);
  const Reply head = request(server.port(), http::verb::head, "/readyz");
  const Reply full = get(server.port(), "/readyz");
  EXPECT_EQ(head.status, 200u);
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(head.content_length, std::to_string(full.body.size()));
}

TEST(HealthServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  HealthServer server(ephemeral());
  server.set_ready(true);
  net::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server.port()));
  EXPECT_EQ(exchange(socket, http::verb::get, "/healthz", true).status, 200u);
  EXPECT_EQ(exchange(socket, http::verb::get, "/readyz", true).status, 200u);
  EXPECT_EQ(exchange(socket, http::verb::get, "/nope", false).status, 404u);
}

TEST(HealthServerTest, GarbageRequestIs400) {
  HealthServer server(ephemeral());
  net::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server.port()));
  net::write(socket, net::buffer(std::string("NOT HTTP AT ALL\r\n\r\n")));
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(socket, buffer, res);
  EXPECT_EQ(res.result_int(), 400u);
}

TEST(HealthServerTest, StaleHeartbeatFailsLiveness) {
  // A fake clock: liveness compares its reading against the last heartbeat.
  auto now = std::make_shared<std::atomic<int64_t>>(0);
  HealthServerOptions options = ephemeral();
  options.liveness_timeout = std::chrono::milliseconds(1000);
  options.clock = [now] {
    return std::chrono::steady_clock::time_point(std::chrono::milliseconds(now->load()));
  };
  HealthServer server(options);

  server.heartbeat();
  now->store(1000);  // exactly the timeout: still alive
  EXPECT_EQ(get(server.port(), "/healthz").status, 200u);

  now->store(2500);  // 2.5 s since the heartbeat
  const Reply stale = get(server.port(), "/healthz");
  EXPECT_EQ(stale.status, 503u);
  EXPECT_EQ(nlohmann::json::parse(stale.body).at("status"), "stalled");

  server.heartbeat();  // the loop came back
  EXPECT_EQ(get(server.port(), "/healthz").status, 200u);
}

TEST(HealthServerTest, RunsOnAGivenIoContext) {
  net::io_context io;
  auto server = std::make_unique<HealthServer>(io, ephemeral());
  server->set_ready(true);
  const uint16_t port = server->port();

  // The test's client runs on its own thread while this thread runs the server's io.
  std::atomic<unsigned> status{0};
  std::thread client([&] {
    status = get(port, "/readyz").status;
    net::post(io, [&] {
      server->stop();
      io.stop();
    });
  });
  io.run();
  client.join();
  EXPECT_EQ(status.load(), 200u);
}

TEST(HealthServerTest, StopClosesTheListener) {
  HealthServer server(ephemeral());
  const uint16_t port = server.port();
  server.stop();
  // stop() posts the close to the io thread; allow it a moment to run.
  bool refused = false;
  for (int i = 0; i < 100 && !refused; ++i) {
    net::io_context io;
    tcp::socket socket(io);
    beast::error_code ec;
    socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
    refused = ec == net::error::connection_refused;
    if (!refused) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(refused);
}

TEST(HealthServerTest, SetReadyFromManyThreadsWhileServing) {
  HealthServer server(ephemeral());
  // The initial reason ("starting") would be served if a request beat every writer.
  server.set_ready(false, "flip -1");
  std::atomic<bool> done{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; !done; ++i)
        server.set_ready((i + t) % 2 == 0, "flip " + std::to_string(i));
    });
  }
  // Every answer must be one of the two well-formed states, never a torn one.
  for (int i = 0; i < 50; ++i) {
    const Reply reply = get(server.port(), "/readyz");
    const auto body = nlohmann::json::parse(reply.body);
    if (reply.status == 200u) {
      EXPECT_EQ(body.at("status"), "ready");
    } else {
      EXPECT_EQ(reply.status, 503u);
      EXPECT_EQ(body.at("reason").get<std::string>().rfind("flip ", 0), 0u);
    }
  }
  done = true;
  for (auto& w : writers)
    w.join();
}

TEST(HealthServerTest, BusyPortThrowsNamingTheAddress) {
  HealthServer first(ephemeral());
  HealthServerOptions options = ephemeral();
  options.port = first.port();
  try {
    HealthServer second(options);
    FAIL() << "a second bind on the same port succeeded";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(first.port())),
              std::string::npos)
        << e.what();
  }
}

TEST(HealthServerTest, HostnameIsRejectedAsNotAnIpLiteral) {
  HealthServerOptions options = ephemeral();
  options.address = "health.example";
  EXPECT_THROW(HealthServer server(options), std::invalid_argument);
}

TEST(HealthServerOptionsTest, FromListenParsesIpv4) {
  const auto options = HealthServerOptions::from_listen("127.0.0.1:9465");
  EXPECT_EQ(options.address, "127.0.0.1");
  EXPECT_EQ(options.port, 9465);
}

TEST(HealthServerOptionsTest, FromListenParsesBracketedIpv6) {
  const auto options = HealthServerOptions::from_listen("[::1]:0");
  EXPECT_EQ(options.address, "::1");
  EXPECT_EQ(options.port, 0);
}

TEST(HealthServerOptionsTest, FromListenRejectsBadText) {
  for (const char* bad : {"127.0.0.1", "127.0.0.1:65536", "127.0.0.1:94x5", ":9465", "::1:9465"}) {
    try {
      HealthServerOptions::from_listen(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    }
  }
}

TEST(HealthServerTest, ListensOnIpv6Loopback) {
  HealthServerOptions options = HealthServerOptions::from_listen("[::1]:0");
  std::unique_ptr<HealthServer> server;
  try {
    server = std::make_unique<HealthServer>(options);
  } catch (const std::runtime_error& e) {
    GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
  }
  net::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(net::ip::make_address("::1"), server->port()));
  EXPECT_EQ(exchange(socket, http::verb::get, "/healthz").status, 200u);
}

}  // namespace
