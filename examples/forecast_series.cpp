// The forecasting pipeline from C++ (what `recur forecast` does, without the CLI): read a CSV,
// find its time column and season, fit the searched and ensembled forecaster on all but the last
// 24 points, and print its 3-step paths with 95% intervals beside Holt-Winters.
//   build/examples/recur-example-forecast [data/airpassengers.csv passengers]
#include <cstdio>
#include <string>

#include <recur/recur.hpp>

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "data/airpassengers.csv";
  const std::string target = argc > 2 ? argv[2] : "passengers";
  try {
    const recur::CsvTable table = recur::read_csv(path);
    const recur::NumericColumns columns = recur::select_numeric(table, {target});
    recur::tasks::SeriesData data;
    data.names = {target};
    data.columns = columns.values;  // (1 column, N rows)

    // The season from the time column (monthly -> 12), else from the autocorrelation.
    const auto time = recur::find_time_columns(table);
    recur::tasks::ForecasterOptions options;
    options.horizon = 3;
    options.seasons = time ? recur::seasons_for(time->index.frequency) : std::vector<std::size_t>{};
    if (options.seasons.empty()) options.seasons = {recur::infer_season_from_values(data.columns[0])};

    const std::size_t n = data.rows(), train_end = n - 24;
    recur::tasks::Forecaster f = recur::tasks::fit_forecaster(data, train_end, options);
    std::printf("chosen: %s, ensemble of %zu, %.1f s\n", f.coder.config.describe().c_str(), f.members, f.seconds);

    // Paths from the last 3 training origins into the test part; Holt-Winters on the same origins.
    const recur::tasks::PathForecast p = recur::tasks::predict_paths(f, data, train_end - 1, train_end + 1);
    const auto hw = recur::tasks::fit_holt_winters(data.columns[0], train_end,
                                                   options.seasons.empty() ? 1 : options.seasons[0]);
    const auto hw_paths = recur::tasks::holt_winters_forecast(hw, data.columns[0], p.origins, 3);
    for (std::size_t i = 0; i < p.origins.size(); ++i)
      for (std::size_t h = 1; h <= 3; ++h) {
        const std::size_t t = p.origins[i] + h;
        std::printf("origin %zu +%zu: actual %8.2f  recur %8.2f [%8.2f, %8.2f]  Holt-Winters %8.2f\n",
                    p.origins[i], h, data.columns[0][t], p.at(p.mean, i, h), p.at(p.lower95, i, h),
                    p.at(p.upper95, i, h), hw_paths.values[i][h - 1]);
      }
  } catch (const recur::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
