// Must NOT compile (issue 4 case 5): a cell processes one timestep and is not a layer. The test
// (tests/CMakeLists.txt) passes when the compiler's output shows recur's static_assert message.
#include "recur/model/sequential.hpp"

int main() {
  recur::Sequential model;
  model.add(recur::LSTMCell(8));
  return 0;
}
