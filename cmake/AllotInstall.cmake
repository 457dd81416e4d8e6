# Install rules (included by the top-level CMakeLists.txt when ALLOT_INSTALL is ON):
#   include/allot/*.h                      the public headers
#   lib/liballot.so.MAJOR(.MINOR.PATCH)    the shared runtime, soname liballot.so.MAJOR; liballot.so
#   lib/liballot.a                         the static runtime (-lallot, or -l:liballot.a)
#   lib/pkgconfig/allot.pc                 pkg-config (relocatable: paths relative to the .pc file)
#   lib/cmake/allot/                       find_package(allot): allot::allot (shared), allot::allot_static
#   bin/allot                              the command-line tool (not in a runtime-only build)
#   ALLOT_INSTALL_PYTHONDIR/allot/         the Python binding (ctypes over liballot.so.MAJOR)
#   share/doc/allot/                       README and docs
include(CMakePackageConfigHelpers)

set(ALLOT_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/allot CACHE STRING
    "Where allotConfig.cmake is installed (relative to the prefix)")
set(ALLOT_INSTALL_PYTHONDIR lib/python3/dist-packages CACHE STRING
    "Where the Python package is installed (relative to the prefix; Debian's python3 reads /usr/lib/python3/dist-packages)")

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/allot DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        COMPONENT runtime FILES_MATCHING PATTERN "*.h")
install(TARGETS allot_runtime_shared allot_runtime EXPORT allotTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT runtime
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(TARGET allot)
  install(TARGETS allot RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT tools)
endif()

# CMake package
install(EXPORT allotTargets NAMESPACE allot:: DESTINATION ${ALLOT_INSTALL_CMAKEDIR} COMPONENT runtime)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/allotConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/allotConfig.cmake INSTALL_DESTINATION ${ALLOT_INSTALL_CMAKEDIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/allotConfigVersion.cmake VERSION ${PROJECT_VERSION}
                                 COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/allotConfig.cmake ${PROJECT_BINARY_DIR}/allotConfigVersion.cmake
        DESTINATION ${ALLOT_INSTALL_CMAKEDIR} COMPONENT runtime)

# pkg-config: prefix relative to the .pc file, so that `cmake --install --prefix P` and DESTDIR work
file(RELATIVE_PATH ALLOT_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
file(RELATIVE_PATH ALLOT_PC_LIBDIR /prefix /prefix/${CMAKE_INSTALL_LIBDIR})
file(RELATIVE_PATH ALLOT_PC_INCLUDEDIR /prefix /prefix/${CMAKE_INSTALL_INCLUDEDIR})
configure_file(${PROJECT_SOURCE_DIR}/cmake/allot.pc.in ${PROJECT_BINARY_DIR}/allot.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/allot.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT runtime)

# Python binding: the package and where the shared library is relative to it
file(RELATIVE_PATH ALLOT_PY_TO_LIB /prefix/${ALLOT_INSTALL_PYTHONDIR}/allot
     /prefix/${CMAKE_INSTALL_LIBDIR}/liballot.so.${PROJECT_VERSION_MAJOR})
configure_file(${PROJECT_SOURCE_DIR}/cmake/allot_libpath.py.in ${PROJECT_BINARY_DIR}/python/_libpath.py @ONLY)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/python/allot DESTINATION ${ALLOT_INSTALL_PYTHONDIR} COMPONENT python
        FILES_MATCHING PATTERN "*.py" PATTERN "__pycache__" EXCLUDE)
install(FILES ${PROJECT_BINARY_DIR}/python/_libpath.py DESTINATION ${ALLOT_INSTALL_PYTHONDIR}/allot
        COMPONENT python)

install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT doc)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT doc
        FILES_MATCHING PATTERN "*.md")
