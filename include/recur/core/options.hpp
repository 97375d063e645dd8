#pragma once
// RECUR_ARG declares an option with a chainable setter and a getter, in the style of libtorch's
// TORCH_ARG:  LstmOptions(32).return_sequences(true).go_backwards(true)
#define RECUR_ARG(T, name)                                  \
 public:                                                    \
  auto& name(const T& new_value) {                          \
    name##_ = new_value;                                    \
    return *this;                                           \
  }                                                         \
  const T& name() const noexcept { return name##_; }        \
                                                            \
 private:                                                   \
  T name##_
