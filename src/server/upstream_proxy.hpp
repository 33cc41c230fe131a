#pragma once
// The terminal stage: picks an upstream endpoint, streams the request to it over a pooled
// keep-alive connection and streams the response back, with bounded memory in both directions.
#include <boost/asio/awaitable.hpp>
#include <optional>

#include "gatewayd/filter.hpp"
#include "server/session.hpp"

namespace gatewayd {

class Worker;

// Returns a LocalReply when the gateway must answer itself; the session writes it when no
// response byte was sent yet, otherwise it closes the connection. nullopt when the upstream's
// response was relayed.
boost::asio::awaitable<std::optional<LocalReply>> forward_upstream(Worker& worker,
                                                                   RequestContext& ctx,
                                                                   Downstream& down);

}  // namespace gatewayd
