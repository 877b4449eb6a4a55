# Third-party libraries, all from Debian 12 packages (tools/scripts/install-deps).
# Each becomes an imported target whose headers are -isystem.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(Boost 1.74 REQUIRED COMPONENTS system)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(CLI11 REQUIRED)

pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
pkg_check_modules(CARES REQUIRED IMPORTED_TARGET libcares)
pkg_check_modules(ICU REQUIRED IMPORTED_TARGET icu-uc)
# Cyrus SASL: the SMTP client's AUTH (the library Postfix's smtp(8) uses).
pkg_check_modules(SASL2 REQUIRED IMPORTED_TARGET libsasl2)
# SQL tables (sqlite_table(5), pgsql_table(5), mysql_table(5)), read by the
# compiler: Debian's client libraries.
pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET sqlite3)
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)
pkg_check_modules(MARIADB REQUIRED IMPORTED_TARGET libmariadb)
# LDAP tables (ldap_table(5)): OpenLDAP's client library.
pkg_check_modules(LDAP REQUIRED IMPORTED_TARGET ldap lber)

find_path(CDB_INCLUDE_DIR cdb.h REQUIRED)
find_library(CDB_LIBRARY cdb REQUIRED)
add_library(postern_cdb INTERFACE)
target_include_directories(postern_cdb SYSTEM INTERFACE ${CDB_INCLUDE_DIR})
target_link_libraries(postern_cdb INTERFACE ${CDB_LIBRARY})

find_path(ANTLR4_INCLUDE_DIR antlr4-runtime.h PATH_SUFFIXES antlr4-runtime REQUIRED)
find_library(ANTLR4_LIBRARY antlr4-runtime REQUIRED)
find_program(ANTLR4_TOOL antlr4 REQUIRED)
add_library(postern_antlr4 INTERFACE)
target_include_directories(postern_antlr4 SYSTEM INTERFACE ${ANTLR4_INCLUDE_DIR})
target_link_libraries(postern_antlr4 INTERFACE ${ANTLR4_LIBRARY})
# clang rejects one header of Debian's ANTLR 4.9 runtime (InterpreterDataReader.h,
# which nothing generated uses); GCC accepts it. For clang (the fuzz build), a
# copy of the umbrella header without it comes first on the include path.
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  file(READ ${ANTLR4_INCLUDE_DIR}/antlr4-runtime.h umbrella)
  string(REGEX REPLACE "#include \"misc/InterpreterDataReader.h\"[^\n]*\n" "" umbrella "${umbrella}")
  file(WRITE ${CMAKE_BINARY_DIR}/antlr4-shim/antlr4-runtime.h "${umbrella}")
  target_include_directories(postern_antlr4 SYSTEM BEFORE INTERFACE ${CMAKE_BINARY_DIR}/antlr4-shim)
endif()

# antlr4_generate(NAME GRAMMAR OUTVAR): runs the ANTLR tool at build time and
# puts the generated C++ sources in the build tree (never in git).
function(antlr4_generate name grammar outvar)
  get_filename_component(base ${grammar} NAME_WE)
  set(outdir ${CMAKE_CURRENT_BINARY_DIR}/${name})
  set(outputs
    ${outdir}/${base}Lexer.cpp ${outdir}/${base}Lexer.h
    ${outdir}/${base}Parser.cpp ${outdir}/${base}Parser.h
    ${outdir}/${base}BaseVisitor.cpp ${outdir}/${base}BaseVisitor.h
    ${outdir}/${base}Visitor.cpp ${outdir}/${base}Visitor.h)
  add_custom_command(
    OUTPUT ${outputs}
    COMMAND ${ANTLR4_TOOL} -Dlanguage=Cpp -visitor -no-listener
            -package postern::grammar -Xexact-output-dir -o ${outdir} ${grammar}
    DEPENDS ${grammar}
    COMMENT "Generating the ${base} parser with ANTLR"
    VERBATIM)
  set(${outvar} ${outputs} PARENT_SCOPE)
  set(${name}_INCLUDE_DIR ${outdir} PARENT_SCOPE)
endfunction()
