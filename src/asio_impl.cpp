// The single translation unit that compiles Asio and Beast (separate compilation keeps every
// other file from instantiating their implementation, which is most of the build time).
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
