#pragma once
// librdkafka client set-up shared by the Kafka integration and fault tests (mock cluster).

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <map>
#include <string>
#include <utility>

namespace mscred::daemon::testing {

//! A producer or consumer handle with `props` set; a property librdkafka refuses is a test
//! failure naming it. Returns nullptr (and fails the test) when the handle cannot be made.
inline rd_kafka_t* make_kafka_client(rd_kafka_type_t type,
                                     const std::map<std::string, std::string>& props) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  for (const auto& [key, value] : props) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      ADD_FAILURE() << key << ": " << err;
    }
  }
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  EXPECT_NE(rk, nullptr) << err;
  return rk;
}

//! A one-broker mock cluster with topics "samples" (3 partitions) and "alerts" (1), and a
//! producer on it. `log_level` is librdkafka's (0 silences the expected outage errors).
class MockKafkaTest : public ::testing::Test {
 protected:
  explicit MockKafkaTest(std::string log_level) : log_level_(std::move(log_level)) {}

  void SetUp() override {
    owner_ = make_kafka_client(RD_KAFKA_PRODUCER, {{"log_level", log_level_}});
    ASSERT_NE(owner_, nullptr);
    cluster_ = rd_kafka_mock_cluster_new(owner_, 1);
    ASSERT_NE(cluster_, nullptr);
    bootstraps_ = rd_kafka_mock_cluster_bootstraps(cluster_);
    ASSERT_EQ(rd_kafka_mock_topic_create(cluster_, "samples", 3, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
    ASSERT_EQ(rd_kafka_mock_topic_create(cluster_, "alerts", 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
    producer_ = make_kafka_client(RD_KAFKA_PRODUCER,
                                  {{"bootstrap.servers", bootstraps_}, {"log_level", log_level_}});
  }

  void TearDown() override {
    if (producer_ != nullptr) rd_kafka_destroy(producer_);
    if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
    if (owner_ != nullptr) rd_kafka_destroy(owner_);
  }

  rd_kafka_t* owner_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  rd_kafka_t* producer_ = nullptr;
  std::string bootstraps_;

 private:
  std::string log_level_;
};

}  // namespace mscred::daemon::testing
