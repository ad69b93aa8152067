#pragma once
// File replay: a CSV file into the same pipeline as the live sources.

#include <atomic>
#include <string>
#include <thread>

#include "mscred/connectors/source.h"

namespace mscred::connectors {

struct FileSourceOptions {
  std::string name = "file";
  std::string path;
  //! Entity of every row when the file has no entity column (rows `ts,v1,...,vn`); empty
  //! means rows are `entity,ts,v1,...,vn`.
  std::string entity;
  //! 0 = as fast as the queue takes records; otherwise replay at `speed` times real time,
  //! pacing by the ts column (seconds).
  double speed = 0.0;
};

//! Owns one reader thread that reads the file line by line and pushes records (blocking
//! when the queue is full). A first line whose ts field is not a number is a header: its
//! sensor names are used, so the file's column order need not match the model's. Bad rows
//! are counted and logged with their line number and skipped. TODO: use
//! pipeline::read_csv (delimiter detection, label columns) once pipeline/ lands; this
//! reader knows only ',' and no label columns.
class FileSource : public Source {
 public:
  FileSource(FileSourceOptions options, RecordConsumer& consumer);
  ~FileSource() override;
  //! Opens the file (throws if it cannot) and starts reading.
  void start() override;
  void stop() override;
  const char* name() const override { return options_.name.c_str(); }
  //! True once the whole file was read (or the reader stopped).
  bool finished() const { return finished_.load(); }
  uint64_t lines() const { return lines_.load(); }
  uint64_t rejected() const { return rejected_.load(); }

 private:
  void run();

  FileSourceOptions options_;
  RecordConsumer& consumer_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> finished_{false};
  std::atomic<uint64_t> lines_{0};
  std::atomic<uint64_t> rejected_{0};
};

}  // namespace mscred::connectors
