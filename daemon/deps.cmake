# Third-party libraries of mscred_daemon_lib beyond spdlog and CLI11.
find_package(yaml-cpp CONFIG REQUIRED)
target_link_libraries(mscred_daemon_lib PUBLIC yaml-cpp Threads::Threads)
# The checkpoint adapter (daemon/src/scorer.cc) needs model::Detector; without LibTorch only
# fake models can be served.
if(TARGET mscred::model)
  target_compile_definitions(mscred_daemon_lib PRIVATE MSCRED_HAVE_MODEL=1)
endif()
target_link_libraries(mscred_daemon_lib PRIVATE ${CMAKE_DL_LIBS})
