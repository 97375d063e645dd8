#include "worker.hpp"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <iostream>
#include <sstream>

namespace bench {
namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A field of /proc/self/status in bytes (VmRSS, VmHWM).
long long status_bytes(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::size_t n = std::strlen(field);
  while (std::getline(in, line))
    if (line.compare(0, n, field) == 0 && line.size() > n && line[n] == ':')
      return std::stoll(line.substr(n + 1)) * 1024;
  return -1;
}

// Resets VmHWM to the current RSS (Linux >= 4.0).
void reset_peak() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
}

bool parse_mode(const std::string& s, Mode& m) {
  if (s == "fwd") m = Mode::kForward;
  else if (s == "fwd_tr") m = Mode::kForwardTraining;
  else if (s == "bwd") m = Mode::kBackward;
  else if (s == "fwdbwd") m = Mode::kForwardBackward;
  else if (s == "stream") m = Mode::kStream;
  else return false;
  return true;
}

void write(std::ofstream& out, const std::vector<float>& v) {
  out.write(reinterpret_cast<const char*>(v.data()),
            static_cast<std::streamsize>(v.size() * sizeof(float)));
}

}  // namespace

int serve(Worker& worker) {
  std::string line;
  long long base = 0;
  Data data;
  // What the last setup made ready: "time" and "check" before it would run a worker with no
  // layer (a crash, not an error line).
  enum class Ready { kNothing, kLayer, kStream } ready = Ready::kNothing;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string cmd;
    in >> cmd;
    try {
      if (cmd == "quit") {
        std::cout << "ok" << std::endl;
        return 0;
      } else if (cmd == "setup" || cmd == "stream") {
        Config c;
        std::string cell;
        in >> cell;
        ready = Ready::kNothing;
        if (!parse_cell(cell, c.cell)) {
          std::cout << "error unknown cell " << cell << std::endl;
          continue;
        }
        if (cmd == "setup") in >> c.batch >> c.timesteps >> c.features >> c.units;
        else {
          c.batch = 1;
          c.timesteps = 1000;
          in >> c.features >> c.units;
        }
        if (!in) {
          std::cout << "error usage: " << cmd
                    << (cmd == "setup" ? " CELL B T F U" : " CELL F U") << std::endl;
          continue;
        }
        data = make_data(c);
        reset_peak();
        base = status_bytes("VmRSS");
        if (cmd == "setup") worker.setup(data);
        else if (!worker.stream_setup(data)) {
          std::cout << "error streaming not supported for " << cell_name(c.cell) << std::endl;
          continue;
        }
        ready = cmd == "setup" ? Ready::kLayer : Ready::kStream;
        std::cout << "ok" << std::endl;
      } else if ((cmd == "check" && ready != Ready::kLayer) ||
                 (cmd == "time" && ready == Ready::kNothing)) {
        std::cout << "error " << cmd << " before a successful setup (setup CELL B T F U"
                  << (cmd == "time" ? ", or stream CELL F U)" : ")") << std::endl;
      } else if (cmd == "check") {
        std::string path;
        in >> path;
        Outputs o;
        worker.check(o);
        std::ofstream out(path, std::ios::binary);
        for (const auto* v : {&o.y, &o.dx, &o.dkernel, &o.drecurrent_kernel, &o.dbias})
          write(out, *v);
        // Closed before "ok": the parent reads the file as soon as it sees the reply, and the
        // stream's last buffer reached the file only in its destructor, after the reply - the
        // occasional "short output file" of a full run.
        out.close();
        std::cout << (out ? "ok" : "error cannot write " + path) << std::endl;
      } else if (cmd == "time") {
        std::string name;
        double seconds = 0;
        in >> name >> seconds;
        Mode m;
        if (!parse_mode(name, m)) {
          std::cout << "error unknown mode " << name << std::endl;
          continue;
        }
        if ((m == Mode::kStream) != (ready == Ready::kStream)) {
          std::cout << "error time " << name << " needs a "
                    << (m == Mode::kStream ? "stream" : "setup") << " first" << std::endl;
          continue;
        }
        long calls = 0;
        const double t0 = now();
        double t = t0;
        do {
          if (m == Mode::kStream) worker.stream_step();
          else worker.run(m);
          ++calls;
          if (m != Mode::kStream || calls % 64 == 0) t = now();
        } while (t - t0 < seconds);
        std::printf("ok %.9e\n", (now() - t0) / static_cast<double>(calls));
        std::fflush(stdout);
      } else if (cmd == "mem") {
        std::cout << "ok " << status_bytes("VmHWM") - base << std::endl;
      } else if (cmd == "peak") {
        std::cout << "ok " << worker.sgemm_peak() << std::endl;
      } else if (cmd == "blas") {
        std::cout << "ok " << worker.blas_core() << std::endl;
      } else if (cmd == "threads") {
        std::cout << "ok " << worker.thread_choices() << std::endl;
      } else {
        std::cout << "error unknown command " << cmd << std::endl;
      }
    } catch (const std::exception& e) {
      std::cout << "error " << e.what() << std::endl;
    }
  }
  return 0;
}

}  // namespace bench
