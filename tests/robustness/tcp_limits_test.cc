// TCP ingest limits and security through a real TcpSource on an ephemeral loopback port:
// the shared-token check (AUTH <token> as the first line), max_connections, the idle and
// per-line timeouts (a client trickling bytes cannot hold a slot), and TLS with a
// self-signed CA made by the openssl CLI at test time (server certificate, optional client
// certificate). Every refused or closed connection is counted by reason, and a well-behaved
// client on another connection is served all the while.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "mscred/connectors/tcp_source.h"
#include "test_consumer.h"
#include "test_util.h"

namespace {

using mscred::connectors::RejectReason;
using mscred::connectors::TcpSource;
using mscred::connectors::TcpSourceOptions;
using mscred::daemon::testing::send_all;
using mscred::daemon::testing::tcp_connect;
using mscred::robustness::Collector;
using Clock = std::chrono::steady_clock;

// Reads until the peer closes (true) or `timeout` passes (false); `out` gets the bytes.
bool read_until_closed(int fd, std::chrono::milliseconds timeout, std::string* out = nullptr) {
  auto until = Clock::now() + timeout;
  char buf[4096];
  while (Clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    int left = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count());
    if (poll(&p, 1, std::max(left, 1)) <= 0) continue;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return true;
    if (out != nullptr) out->append(buf, static_cast<size_t>(n));
  }
  return false;
}

size_t count(Collector& c, RejectReason r) {
  auto m = c.rejects();
  return m.count(r) != 0 ? m[r] : 0;
}

bool wait_count(Collector& c, RejectReason r, size_t n) {
  auto until = Clock::now() + std::chrono::seconds(10);
  while (count(c, r) < n && Clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  return count(c, r) >= n;
}

TcpSourceOptions base_options() {
  TcpSourceOptions o;
  o.port = 0;
  return o;
}

TEST(TcpLimitsTest, RightTokenIsServedWrongOrMissingTokenIsClosedAndCounted) {
  Collector collector;
  TcpSourceOptions o = base_options();
  o.auth_token = "s3cret-token";
  TcpSource source(o, collector);
  source.start();

  int good = tcp_connect(source.port());
  ASSERT_TRUE(send_all(good, "AUTH s3cret-token\r\ne,1,1,2,3\ne,2,1,2,3\n"));
  int wrong = tcp_connect(source.port());
  ASSERT_TRUE(send_all(wrong, "AUTH s3cret-tokeN\ne,3,1,2,3\n"));
  int missing = tcp_connect(source.port());
  ASSERT_TRUE(send_all(missing, "e,4,1,2,3\ne,5,1,2,3\n"));
  int prefix = tcp_connect(source.port());  // a prefix of the token is not the token
  ASSERT_TRUE(send_all(prefix, "AUTH s3cret\n"));

  std::string reply;
  EXPECT_TRUE(read_until_closed(wrong, std::chrono::seconds(5), &reply));
  EXPECT_EQ(reply.rfind("error line 1: auth_failed", 0), 0u) << reply;
  EXPECT_TRUE(read_until_closed(missing, std::chrono::seconds(5)));
  EXPECT_TRUE(read_until_closed(prefix, std::chrono::seconds(5)));
  ASSERT_TRUE(wait_count(collector, RejectReason::kAuthFailed, 3));
  ASSERT_TRUE(collector.wait_for(5));
  close(good);
  close(wrong);
  close(missing);
  close(prefix);
  source.stop();
  auto records = collector.records();
  ASSERT_EQ(records.size(), 2u);  // only the authenticated connection's records
  EXPECT_EQ(records[0].ts, 1.0);
  EXPECT_EQ(records[1].ts, 2.0);
  EXPECT_EQ(count(collector, RejectReason::kAuthFailed), 3u);
}

TEST(TcpLimitsTest, ConnectionsBeyondMaxAreRefusedAndCounted) {
  Collector collector;
  TcpSourceOptions o = base_options();
  o.max_connections = 2;
  TcpSource source(o, collector);
  source.start();
  int a = tcp_connect(source.port());
  int b = tcp_connect(source.port());
  ASSERT_TRUE(send_all(a, "e,1,1,2,3\n"));
  ASSERT_TRUE(send_all(b, "f,1,1,2,3\n"));
  ASSERT_TRUE(collector.wait_for(2));  // both accepted and read
  int c = tcp_connect(source.port());  // the kernel completes it; the source closes it
  EXPECT_TRUE(read_until_closed(c, std::chrono::seconds(5)));
  ASSERT_TRUE(wait_count(collector, RejectReason::kMaxConnections, 1));
  // The first two are still served; after one leaves, a new client gets its slot.
  ASSERT_TRUE(send_all(a, "e,2,1,2,3\n"));
  close(b);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  int d = tcp_connect(source.port());
  ASSERT_TRUE(send_all(d, "g,1,1,2,3\n"));
  ASSERT_TRUE(collector.wait_for(5));
  close(a);
  close(c);
  close(d);
  source.stop();
  EXPECT_EQ(collector.records().size(), 4u);
  EXPECT_EQ(count(collector, RejectReason::kMaxConnections), 1u);
}

TEST(TcpLimitsTest, IdleConnectionIsClosedAfterIdleTimeout) {
  Collector collector;
  TcpSourceOptions o = base_options();
  o.idle_timeout_s = 0.3;
  o.line_timeout_s = 0.0;
  TcpSource source(o, collector);
  source.start();
  int idle = tcp_connect(source.port());
  int busy = tcp_connect(source.port());
  auto t0 = Clock::now();
  // busy sends a line every 100 ms for 1 s: never idle for 0.3 s, so it stays open.
  for (int i = 1; i <= 10; ++i) {
    ASSERT_TRUE(send_all(busy, "e," + std::to_string(i) + ",1,2,3\n"));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::string reply;
  EXPECT_TRUE(read_until_closed(idle, std::chrono::seconds(5), &reply));
  auto closed_after = Clock::now() - t0;
  EXPECT_NE(reply.find("timeout"), std::string::npos) << reply;
  EXPECT_GE(closed_after, std::chrono::milliseconds(300));
  EXPECT_TRUE(collector.wait_for(11));  // 10 records + the idle connection's timeout
  EXPECT_EQ(count(collector, RejectReason::kTimeout), 1u);
  ASSERT_TRUE(send_all(busy, "e,11,1,2,3\n"));  // still open
  ASSERT_TRUE(collector.wait_for(12));
  close(idle);
  close(busy);
  source.stop();
}

TEST(TcpLimitsTest, ClientTricklingAByteAtATimeIsCutOffWhileOthersAreServed) {
  Collector collector;
  TcpSourceOptions o = base_options();
  o.idle_timeout_s = 0.0;
  o.line_timeout_s = 0.5;
  TcpSource source(o, collector);
  source.start();
  int slow = tcp_connect(source.port());
  int fast = tcp_connect(source.port());
  const std::string line = "slow,1,1.000000,2.000000,3.000000\n";  // 35 bytes, 50 ms apart
  size_t sent = 0;
  int fast_ts = 0;
  bool slow_closed = false;
  for (; sent < line.size(); ++sent) {
    if (!send_all(slow, line.substr(sent, 1))) {
      slow_closed = true;
      break;
    }
    ASSERT_TRUE(send_all(fast, "fast," + std::to_string(++fast_ts) + ",1,2,3\n"));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  slow_closed = read_until_closed(slow, std::chrono::seconds(5)) || slow_closed;
  EXPECT_TRUE(slow_closed);
  ASSERT_TRUE(wait_count(collector, RejectReason::kTimeout, 1));
  ASSERT_TRUE(collector.wait_for(static_cast<size_t>(fast_ts) + 1));
  close(slow);
  close(fast);
  source.stop();
  auto records = collector.records();
  EXPECT_EQ(records.size(), static_cast<size_t>(fast_ts));  // every fast line, no slow one
  for (const auto& r : records)
    EXPECT_EQ(r.entity, "fast");
  // Cut off at ~0.5 s (+ up to 25 % sweep delay), long before the 1.75 s the line needs.
  EXPECT_LT(sent, line.size());
}

// VmRSS of this process in KiB (/proc/self/status).
long rss_kib() {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return -1;
  char line[256];
  long kib = -1;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
  }
  std::fclose(f);
  return kib;
}

TEST(TcpLimitsTest, ThousandConnectionsWithSlowAndVanishingClientsStillServeAFastOne) {
  // CI-sized load: 1,000 connections at once (the limit), 200 of them trickling a line a
  // byte per 100 ms, 20 that disconnect mid-line, the rest idle; one more is refused.
  // A fast client sends 5,000 lines meanwhile and must be served in full, and the
  // source's memory must stay bounded (read buffers are 16 KiB per connection).
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  if (nofile.rlim_cur < 4096) {
    nofile.rlim_cur = std::min<rlim_t>(nofile.rlim_max, 4096);
    setrlimit(RLIMIT_NOFILE, &nofile);
  }
  if (nofile.rlim_cur < 2100) GTEST_SKIP() << "needs 2,100 file descriptors (ulimit -n)";

  Collector collector;
  TcpSourceOptions o = base_options();
  o.max_connections = 1000;
  o.idle_timeout_s = 0.0;
  o.line_timeout_s = 0.0;
  o.reply_errors = false;
  TcpSource source(o, collector);
  source.start();
  const long rss0 = rss_kib();

  constexpr int kSlow = 200, kVanish = 20, kIdle = 1000 - kSlow - kVanish - 1;
  std::vector<int> slow, idle;
  int fast = tcp_connect(source.port());
  ASSERT_GE(fast, 0);
  for (int i = 0; i < kSlow; ++i)
    slow.push_back(tcp_connect(source.port()));
  for (int i = 0; i < kIdle; ++i)
    idle.push_back(tcp_connect(source.port()));
  for (int i = 0; i < kVanish; ++i) {
    int fd = tcp_connect(source.port());
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(send_all(fd, "{\"entity\":\"gone\",\"ts\":1,\"values\":[1,"));
    close(fd);  // half a JSON line, then gone: one `truncated` each
  }
  for (int fd : slow)
    ASSERT_GE(fd, 0);
  for (int fd : idle)
    ASSERT_GE(fd, 0);
  ASSERT_TRUE(wait_count(collector, RejectReason::kTruncated, kVanish));
  // All 1,000 slots are taken (the 20 vanished ones are free again, so fill them first).
  std::vector<int> refill;
  for (int i = 0; i < kVanish; ++i)
    refill.push_back(tcp_connect(source.port()));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  int extra = tcp_connect(source.port());
  EXPECT_TRUE(read_until_closed(extra, std::chrono::seconds(10)));
  EXPECT_TRUE(wait_count(collector, RejectReason::kMaxConnections, 1));

  // The slow ones send "s<i>,1,1,2,3\n" a byte at a time, every 100 ms, while the fast
  // client sends its 5,000 lines.
  const auto t0 = Clock::now();
  std::thread trickle([&] {
    for (size_t b = 0; b < 16; ++b) {
      for (size_t i = 0; i < slow.size(); ++i) {
        std::string line = "s" + std::to_string(i) + ",1,1,2,3\n";
        if (b < line.size()) send_all(slow[i], line.substr(b, 1));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  std::string blob;
  for (int t = 1; t <= 5000; ++t)
    blob += "fast," + std::to_string(t) + ",1,2,3\n";
  ASSERT_TRUE(send_all(fast, blob));
  auto fast_count = [&] {
    size_t n = 0;
    for (const auto& r : collector.records())
      n += r.entity == "fast" ? 1 : 0;
    return n;
  };
  while (fast_count() < 5000 && Clock::now() - t0 < std::chrono::seconds(30))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const double fast_s = std::chrono::duration<double>(Clock::now() - t0).count();
  trickle.join();
  EXPECT_EQ(fast_count(), 5000u);
  ASSERT_TRUE(collector.wait_for(5000 + kSlow + kVanish + 1));
  const long rss1 = rss_kib();
  std::printf("1000 connections: fast client's 5000 lines in %.2f s; RSS %ld -> %ld KiB\n", fast_s,
              rss0, rss1);
  // 1,000 x (16 KiB buffer + parser + socket state) is ~20-30 MiB; 128 MiB is a generous
  // bound that still catches a per-connection buffer of max_line_bytes or more.
  EXPECT_LT(rss1 - rss0, 128 * 1024);

  for (int fd : slow)
    close(fd);
  for (int fd : idle)
    close(fd);
  for (int fd : refill)
    close(fd);
  close(extra);
  close(fast);
  source.stop();
  size_t slow_records = 0;
  for (const auto& r : collector.records())
    slow_records += r.entity[0] == 's' ? 1 : 0;
  EXPECT_EQ(slow_records, static_cast<size_t>(kSlow));  // every trickled line arrived whole
}

// --- TLS ------------------------------------------------------------------------------

namespace asio = boost::asio;
namespace ssl = asio::ssl;

class TcpTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::filesystem::path(::testing::TempDir()) / ("mscred_tls_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    const std::string d = dir_.string();
    // A CA, a server certificate for 127.0.0.1 and a client certificate, both signed by it
    // (P-256 keys: fast to make).
    const std::string key = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    std::string script =
        "cd " + d + " && openssl req -x509" + key +
        " -keyout ca.key -out ca.pem -days 2 -subj /CN=mscred-test-ca && openssl req" + key +
        " -keyout server.key -out server.csr -subj /CN=127.0.0.1 && openssl x509 -req -in "
        "server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 && "
        "openssl req" +
        key +
        " -keyout client.key -out client.csr -subj /CN=client && openssl x509 -req -in "
        "client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2";
    ok_ = std::system((script + " >/dev/null 2>&1").c_str()) == 0;
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(dir_); }
  void SetUp() override {
    if (!ok_) GTEST_FAIL() << "openssl could not make the test certificates in " << dir_;
  }

  static std::string file(const char* name) { return (dir_ / name).string(); }

  TcpSourceOptions tls_options(bool verify_client) {
    TcpSourceOptions o = base_options();
    o.tls.cert_file = file("server.pem");
    o.tls.key_file = file("server.key");
    if (verify_client) {
      o.tls.ca_file = file("ca.pem");
      o.tls.verify_client = true;
    }
    return o;
  }

  // Connects with TLS (trusting the test CA), optionally presenting the client
  // certificate; sends `data`. Returns false if the handshake failed.
  bool tls_send(uint16_t port, bool client_cert, const std::string& data) {
    asio::io_context io;
    ssl::context ctx(ssl::context::tls_client);
    ctx.load_verify_file(file("ca.pem"));
    ctx.set_verify_mode(ssl::verify_peer);
    if (client_cert) {
      ctx.use_certificate_chain_file(file("client.pem"));
      ctx.use_private_key_file(file("client.key"), ssl::context::pem);
    }
    ssl::stream<asio::ip::tcp::socket> stream(io, ctx);
    boost::system::error_code ec;
    stream.lowest_layer().connect({asio::ip::make_address("127.0.0.1"), port}, ec);
    if (ec) return false;
    stream.handshake(ssl::stream_base::client, ec);
    if (ec) return false;
    asio::write(stream, asio::buffer(data), ec);
    if (ec) return false;
    // Wait for the server to read it, then close cleanly.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    stream.shutdown(ec);
    return true;
  }

  static std::filesystem::path dir_;
  static bool ok_;
};
std::filesystem::path TcpTlsTest::dir_;
bool TcpTlsTest::ok_ = false;

TEST_F(TcpTlsTest, RecordsArriveOverTlsAndAPlainClientIsRefused) {
  Collector collector;
  TcpSource source(tls_options(false), collector);
  source.start();
  EXPECT_TRUE(tls_send(source.port(), false, "e,1,1,2,3\ne,2,1,2,3\n"));
  ASSERT_TRUE(collector.wait_for(2));
  // A client speaking plain text to the TLS port fails the handshake: counted, closed.
  int plain = tcp_connect(source.port());
  ASSERT_TRUE(send_all(plain, "e,3,1,2,3\n"));
  EXPECT_TRUE(read_until_closed(plain, std::chrono::seconds(5)));
  ASSERT_TRUE(wait_count(collector, RejectReason::kTlsHandshake, 1));
  close(plain);
  source.stop();
  auto records = collector.records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].ts, 2.0);
}

TEST_F(TcpTlsTest, ClientCertificateIsRequiredWhenVerifyClientIsOn) {
  Collector collector;
  TcpSource source(tls_options(true), collector);
  source.start();
  EXPECT_TRUE(tls_send(source.port(), true, "e,1,1,2,3\n"));
  ASSERT_TRUE(collector.wait_for(1));
  // Without a certificate the server ends the handshake (TLS 1.3 may report it to the
  // client only at its first read, so the count is what is checked).
  tls_send(source.port(), false, "e,2,1,2,3\n");
  ASSERT_TRUE(wait_count(collector, RejectReason::kTlsHandshake, 1));
  source.stop();
  auto records = collector.records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].ts, 1.0);
}

TEST_F(TcpTlsTest, TokenCheckRunsInsideTls) {
  Collector collector;
  TcpSourceOptions o = tls_options(false);
  o.auth_token = "tok";
  TcpSource source(o, collector);
  source.start();
  EXPECT_TRUE(tls_send(source.port(), false, "AUTH tok\ne,1,1,2,3\n"));
  tls_send(source.port(), false, "AUTH nope\ne,2,1,2,3\n");
  ASSERT_TRUE(wait_count(collector, RejectReason::kAuthFailed, 1));
  ASSERT_TRUE(collector.wait_for(2));
  source.stop();
  ASSERT_EQ(collector.records().size(), 1u);
  EXPECT_EQ(collector.records()[0].ts, 1.0);
}

TEST_F(TcpTlsTest, UnreadableCertificateStopsStartWithTheFileNamed) {
  Collector collector;
  TcpSourceOptions o = tls_options(false);
  o.tls.cert_file = file("nosuch.pem");
  TcpSource source(o, collector);
  try {
    source.start();
    ADD_FAILURE() << "started with a missing certificate";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("nosuch.pem"), std::string::npos) << e.what();
  }
}

}  // namespace
