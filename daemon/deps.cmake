# Third-party libraries of mscred_daemon_lib beyond spdlog and CLI11.
find_package(yaml-cpp CONFIG REQUIRED)
target_link_libraries(mscred_daemon_lib PUBLIC yaml-cpp Threads::Threads)
