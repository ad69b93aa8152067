# install() rules for what deploy/ ships: the systemd unit, the example config and the
# operator docs. The binary itself is installed by daemon/CMakeLists.txt (bin/mscredd).
# Include this from the top-level CMakeLists.txt after the folders are added:
#   include(${PROJECT_SOURCE_DIR}/deploy/install.cmake)
#
# With the Debian layout (`cmake --install build --prefix /usr`) this gives
#   /usr/bin/mscredd, /usr/lib/systemd/system/mscredd.service, /etc/mscred/mscredd.yaml,
#   /usr/share/doc/mscred/{deploy.md,config.example.yaml,gpu.conf}
# Paths are worked out at install time, so `--prefix` and DESTDIR given to
# `cmake --install` are honoured, and the unit's ExecStart always names the installed binary.

include(GNUInstallDirs)

set(MSCRED_SYSTEMD_UNITDIR "lib/systemd/system" CACHE STRING
    "Where the systemd unit goes, relative to the install prefix (or absolute)")
# tests/deploy registers the install test only when these rules exist.
set(MSCRED_DEPLOY_INSTALL_INCLUDED ON)

set(_mscred_unit_src "${PROJECT_SOURCE_DIR}/deploy/systemd/mscredd.service")
set(_mscred_config_src "${PROJECT_SOURCE_DIR}/config.example.yaml")
set(_mscred_stage "${PROJECT_BINARY_DIR}/deploy-install")

install(CODE "
  set(prefix \"\${CMAKE_INSTALL_PREFIX}\")
  # FHS: /usr keeps its configuration in /etc, /opt/<x> in /etc/opt/<x>, others under prefix.
  if(prefix STREQUAL \"/usr\")
    set(sysconfdir \"/etc\")
  elseif(prefix MATCHES \"^/opt/\")
    set(sysconfdir \"/etc\${prefix}\")
  else()
    set(sysconfdir \"\${prefix}/etc\")
  endif()
  set(bindir \"\${prefix}/${CMAKE_INSTALL_BINDIR}\")
  set(docdir \"\${prefix}/${CMAKE_INSTALL_DATAROOTDIR}/doc/mscred\")
  if(IS_ABSOLUTE \"${MSCRED_SYSTEMD_UNITDIR}\")
    set(unitdir \"${MSCRED_SYSTEMD_UNITDIR}\")
  else()
    set(unitdir \"\${prefix}/${MSCRED_SYSTEMD_UNITDIR}\")
  endif()

  # The unit in the tree names the Debian paths; rewrite them for this prefix.
  file(READ \"${_mscred_unit_src}\" unit)
  string(REPLACE \"/usr/bin/mscredd\" \"\${bindir}/mscredd\" unit \"\${unit}\")
  string(REPLACE \"/etc/mscred/mscredd.yaml\" \"\${sysconfdir}/mscred/mscredd.yaml\" unit \"\${unit}\")
  string(REPLACE \"file:/usr/share/doc/mscred/\" \"file:\${docdir}/\" unit \"\${unit}\")
  file(WRITE \"${_mscred_stage}/mscredd.service\" \"\${unit}\")
  file(INSTALL DESTINATION \"\${unitdir}\" TYPE FILE PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
       FILES \"${_mscred_stage}/mscredd.service\")

  file(INSTALL DESTINATION \"\${docdir}\" TYPE FILE FILES \"${PROJECT_SOURCE_DIR}/docs/deploy.md\"
       \"${PROJECT_SOURCE_DIR}/deploy/systemd/gpu.conf\")
  if(EXISTS \"${_mscred_config_src}\")
    file(INSTALL DESTINATION \"\${docdir}\" TYPE FILE FILES \"${_mscred_config_src}\")
    # The admin's edited config survives a reinstall; a fresh install gets the example.
    if(EXISTS \"\$ENV{DESTDIR}\${sysconfdir}/mscred/mscredd.yaml\")
      message(STATUS \"Keeping existing: \$ENV{DESTDIR}\${sysconfdir}/mscred/mscredd.yaml\")
    else()
      file(MAKE_DIRECTORY \"${_mscred_stage}/config\")
      configure_file(\"${_mscred_config_src}\" \"${_mscred_stage}/config/mscredd.yaml\" COPYONLY)
      file(INSTALL DESTINATION \"\${sysconfdir}/mscred\" TYPE FILE
           PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
           FILES \"${_mscred_stage}/config/mscredd.yaml\")
    endif()
  else()
    message(WARNING \"config.example.yaml is missing: no config installed to \${sysconfdir}/mscred\")
  endif()
")
