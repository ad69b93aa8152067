# Third-party libraries of mscred::connectors (all from Debian, see tools/install-deps.sh).
find_package(PkgConfig REQUIRED)
pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET rdkafka)
find_package(Boost 1.74 REQUIRED COMPONENTS system)
find_package(prometheus-cpp CONFIG REQUIRED)
find_package(simdjson CONFIG REQUIRED)
find_package(nlohmann_json CONFIG REQUIRED)
find_package(spdlog REQUIRED)
find_package(OpenSSL REQUIRED)  # TLS for TCP ingest (Boost.Asio SSL)

target_link_libraries(mscred_connectors
  PUBLIC PkgConfig::RDKAFKA prometheus-cpp::core spdlog::spdlog
         Boost::system Threads::Threads
  PRIVATE simdjson::simdjson nlohmann_json::nlohmann_json OpenSSL::SSL OpenSSL::Crypto)
target_compile_definitions(mscred_connectors PRIVATE MSCRED_CONNECTORS_VERSION="${PROJECT_VERSION}")
