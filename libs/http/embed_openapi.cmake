# cmake -DINPUT=<openapi.json> -DOUTPUT=<file.cpp> -P embed_openapi.cmake
# Writes a C++ file defining orderflow::http::embedded_openapi_json() with INPUT's text (the
# service's OpenAPI description, served at GET /openapi.json).
file(READ "${INPUT}" text)
set(delimiter "openapi_json")
string(FIND "${text}" ")${delimiter}\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw-string delimiter )${delimiter}\"")
endif()
file(WRITE "${OUTPUT}"
  "// Generated at build time from ${INPUT} (libs/http/embed_openapi.cmake): do not edit.\n"
  "#include <string_view>\n\n"
  "namespace orderflow::http {\n\n"
  "std::string_view embedded_openapi_json() {\n"
  "  static constexpr char kText[] = R\"${delimiter}(${text})${delimiter}\";\n"
  "  return {kText, sizeof(kText) - 1};\n"
  "}\n\n"
  "}  // namespace orderflow::http\n")
