// Bad lines through a real TcpSource on an ephemeral loopback port: an over-long line,
// binary garbage and a half-sent last line are each counted once by reason, and every good
// line around them still arrives, in order, on the same connection.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

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

TEST(TcpBadInputTest, BadLinesAreCountedAndGoodLinesAroundThemArrive) {
  Collector collector;
  TcpSourceOptions options;
  options.port = 0;
  options.max_line_bytes = 128;
  options.reply_errors = false;
  TcpSource source(options, collector);
  source.start();
  int fd = tcp_connect(source.port());
  ASSERT_GE(fd, 0);

  std::string stream;
  stream += "e,1,1,2,3\n";
  stream += "e,2," + std::string(1000, '7') + "\n";  // over the limit, sent in one go
  stream += "e,3,1,2,3\n";
  stream += std::string("\x00\x01garbage\xff", 10) + "\n";
  stream += "{\"entity\":\"e\",\"ts\":4,\"values\":[1,2,3]}\n";
  stream += "\n";                                          // empty message
  stream += "{\"entity\":\"e\",\"ts\":5,\"values\":[1,2";  // cut off by the close below
  ASSERT_TRUE(send_all(fd, stream));
  close(fd);

  ASSERT_TRUE(collector.wait_for(7));
  source.stop();
  auto records = collector.records();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].ts, 1.0);
  EXPECT_EQ(records[1].ts, 3.0);
  EXPECT_EQ(records[2].ts, 4.0);
  auto rejects = collector.rejects();
  EXPECT_EQ(rejects[RejectReason::kTooLong], 1u);
  EXPECT_EQ(rejects[RejectReason::kBinary], 1u);
  EXPECT_EQ(rejects[RejectReason::kEmpty], 1u);
  EXPECT_EQ(rejects[RejectReason::kTruncated], 1u);
}

TEST(TcpBadInputTest, OverLongLineSplitAcrossReadsIsOneRejection) {
  Collector collector;
  TcpSourceOptions options;
  options.port = 0;
  options.max_line_bytes = 64;
  options.reply_errors = false;
  TcpSource source(options, collector);
  source.start();
  int fd = tcp_connect(source.port());
  ASSERT_GE(fd, 0);
  // 200 KB with no newline, in pieces, then a good line.
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(send_all(fd, std::string(4096, 'x')));
  }
  ASSERT_TRUE(send_all(fd, "\ne,9,1\n"));
  close(fd);
  ASSERT_TRUE(collector.wait_for(2));
  source.stop();
  EXPECT_EQ(collector.rejects()[RejectReason::kTooLong], 1u);
  auto records = collector.records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].ts, 9.0);
}

}  // namespace
