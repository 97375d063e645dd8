#pragma once
namespace recur::cli {
/// data/airpassengers.csv (Box & Jenkins Series G), embedded at build time.
extern const char* const kAirPassengersCsv;
}
