# record_parser_bench needs the connectors (RecordParser) and simdjson's header for the
# kernel names.
target_link_libraries(record_parser_bench PRIVATE mscred::connectors)
find_package(simdjson CONFIG REQUIRED)
target_link_libraries(record_parser_bench PRIVATE simdjson::simdjson)
