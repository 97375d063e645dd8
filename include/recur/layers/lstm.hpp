#pragma once
// LSTM layer; it lives with the other recurrent layers in recur/layers/recurrent.hpp.
#include "recur/layers/recurrent.hpp"
