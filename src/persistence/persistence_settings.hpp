#pragma once
// Maps the MYSQL_* / SPOOL_* / REQUEST_LOG_* variables onto the persistence options.
#include "clients/mysql_options.hpp"
#include "gatewayd/settings.hpp"
#include "persistence/persistence_service.hpp"

namespace gatewayd::persistence {

// Throws SettingsError naming the variable for malformed values.
MySqlOptions mysql_options_from(const Settings& settings);
PersistenceOptions persistence_options_from(const Settings& settings);

}  // namespace gatewayd::persistence
