# Writes the development time series of data/series/ from Debian 12 packages:
#   r-base-core 4.2.2 (R's datasets), r-cran-forecast 8.20, r-cran-tseries 0.10-53,
#   python3-statsmodels 0.13.5 (its CSV files are read as text; Python is not needed).
# Usage: Rscript scripts/data/make_series.R OUTDIR      (normally via make_series.sh)
# Output: header row, ',' separator, LF line ends, ASCII, no quotes; numbers printed with
# sprintf("%.15g") (R objects) or copied verbatim (statsmodels CSV text).
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) >= 1) args[1] else "data/series"
dir.create(out, showWarnings = FALSE, recursive = TRUE)
suppressMessages({
  library(forecast)   # gas, wineind, woolyrnq, taylor
  library(tseries)    # bev, ice.river, tcm
})
ds <- function(name, pkg) { e <- new.env(); data(list = name, package = pkg, envir = e); get(name, envir = e) }

num <- function(x) ifelse(is.na(x), "", sprintf("%.15g", as.numeric(x)))

write_series <- function(file, time_name, time, cols) {
  # cols: named list of numeric vectors (names are the CSV headers)
  body <- do.call(paste, c(list(time), lapply(cols, num), sep = ","))
  if (is.null(time_name)) body <- do.call(paste, c(lapply(cols, num), sep = ","))
  header <- paste(c(time_name, names(cols)), collapse = ",")
  con <- file(file.path(out, file), open = "wb")  # "wb": LF line ends on every platform
  writeLines(c(header, body), con, sep = "\n", useBytes = TRUE)
  close(con)
}

# Time labels computed from start() and integer steps (no floating-point time arithmetic).
monthly <- function(x) {
  s <- start(x); k <- (s[2] - 1) + seq_len(NROW(x)) - 1
  sprintf("%04d-%02d", s[1] + k %/% 12, k %% 12 + 1)
}
quarterly <- function(x) {
  s <- start(x); k <- (s[2] - 1) + seq_len(NROW(x)) - 1
  sprintf("%04d-Q%d", s[1] + k %/% 4, k %% 4 + 1)
}
yearly <- function(x) sprintf("%d", start(x)[1] + seq_len(NROW(x)) - 1)
stopifnot_freq <- function(x, f) stopifnot(abs(frequency(x) - f) < 1e-9)

# ---- monthly -----------------------------------------------------------------------------
sb <- ds("Seatbelts", "datasets"); stopifnot_freq(sb, 12)
stopifnot(all(sb[, "drivers"] == ds("UKDriverDeaths", "datasets")))
write_series("seatbelts.csv", "month", monthly(sb),
             list(drivers = sb[, "drivers"], drivers_killed = sb[, "DriversKilled"],
                  front = sb[, "front"], rear = sb[, "rear"], kms = sb[, "kms"],
                  petrol_price = sb[, "PetrolPrice"], van_killed = sb[, "VanKilled"],
                  law = sb[, "law"]))

g <- gas; stopifnot_freq(g, 12)
write_series("gas.csv", "month", monthly(g), list(gas = g))

w <- wineind; stopifnot_freq(w, 12)
write_series("wineind.csv", "month", monthly(w), list(sales = w))

tc <- ds("tcm", "tseries"); stopifnot_freq(tc, 12)
write_series("treasury_yields.csv", "month", monthly(tc),
             list(tcm10y = tc[, "tcm10y"], tcm5y = tc[, "tcm5y"], tcm3y = tc[, "tcm3y"],
                  tcm1y = tc[, "tcm1y"]))

# statsmodels elec_equip.csv: "Jan-1-1995,66.19" -> "1995-01,66.19" (value text kept as is)
sm <- "/usr/lib/python3/dist-packages/statsmodels/datasets"
ee <- read.csv(file.path(sm, "elec_equip", "elec_equip.csv"), colClasses = "character")
d <- as.Date(ee[[1]], format = "%b-%d-%Y")   # month abbreviations are English: use C locale
stopifnot(!anyNA(d), all(diff(as.integer(format(d, "%Y")) * 12 + as.integer(format(d, "%m"))) == 1))
con <- file(file.path(out, "elec_equip.csv"), open = "wb")
writeLines(c("month,turnover_index", paste(format(d, "%Y-%m"), ee[[2]], sep = ",")), con, sep = "\n")
close(con)

# ---- quarterly ---------------------------------------------------------------------------
wy <- woolyrnq; stopifnot_freq(wy, 4)
write_series("woolyrnq.csv", "quarter", quarterly(wy), list(tonnes = wy))

pr <- ds("presidents", "datasets"); stopifnot_freq(pr, 4)
write_series("presidents.csv", "quarter", quarterly(pr), list(approval = pr))  # 6 empty cells


# ---- yearly ------------------------------------------------------------------------------
lh <- ds("LakeHuron", "datasets")
write_series("lake_huron.csv", "year", yearly(lh), list(level_ft = lh))
nh <- ds("nhtemp", "datasets")
write_series("nhtemp.csv", "year", yearly(nh), list(temp_f = nh))
dv <- ds("discoveries", "datasets")
write_series("discoveries.csv", "year", yearly(dv), list(discoveries = dv))
bv <- ds("bev", "tseries")
write_series("wheat_price_index.csv", "year", yearly(bv), list(index = bv))

# ---- daily -------------------------------------------------------------------------------
ir <- ds("ice.river", "tseries")
stopifnot(NROW(ir) == 1096)   # 1972-01-01 .. 1974-12-31 (1972 is a leap year)
write_series("ice_river.csv", "date", format(as.Date("1972-01-01") + 0:1095, "%Y-%m-%d"),
             list(flow_vat = ir[, "flow.vat"], flow_jok = ir[, "flow.jok"],
                  prec = ir[, "prec"], temp = ir[, "temp"]))

eu <- ds("EuStockMarkets", "datasets")   # business days with no dates: a plain index
write_series("eustock.csv", "t", sprintf("%d", seq_len(NROW(eu))),
             list(dax = eu[, "DAX"], smi = eu[, "SMI"], cac = eu[, "CAC"], ftse = eu[, "FTSE"]))

# ---- half-hourly -------------------------------------------------------------------------
# taylor: 4032 half-hours from Monday 2000-06-05 00:00 to Sunday 2000-08-27 23:30; the last
# 8 weeks (2688 rows, from Monday 2000-07-03) are kept, to stay under ~3000 rows.
ty <- as.numeric(taylor); stopifnot(length(ty) == 4032)
keep <- (4032 - 2688 + 1):4032
stamps <- format(as.POSIXct("2000-06-05 00:00", tz = "UTC") + (keep - 1) * 1800, "%Y-%m-%d %H:%M", tz = "UTC")
write_series("taylor.csv", "time", stamps, list(demand_mw = ty[keep]))

# ---- no calendar -------------------------------------------------------------------------
ww <- ds("WWWusage", "datasets")
write_series("wwwusage.csv", "t", sprintf("%d", seq_len(NROW(ww))), list(users = ww))
