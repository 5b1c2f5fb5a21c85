import Foundation

/// Welch's unequal-variances t-test (B. L. Welch, "The generalization of Student's problem when
/// several different population variances are involved", Biometrika 34, 1947), as mmtests'
/// `compare-kernels.sh` uses it to call a difference significant. The two-sided p-value is the
/// regularized incomplete beta function of the t statistic (Abramowitz & Stegun 26.7.1), computed
/// with the continued fraction of Numerical Recipes (Press et al., 3rd ed., §6.4).
public enum WelchTest {
    public struct Summary: Sendable, Equatable {
        public var count: Int
        public var mean: Double
        /// Sample variance (n − 1).
        public var variance: Double

        public init?(_ values: [Double]) {
            guard values.count >= 2 else { return nil }
            count = values.count
            mean = values.reduce(0, +) / Double(values.count)
            let mean = mean
            variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)
        }

        /// The standard deviation in % of the mean (`%stddev` in lkp-tests), nil for a mean of 0.
        public var relativeStandardDeviation: Double? {
            mean == 0 ? nil : variance.squareRoot() / abs(mean) * 100
        }
    }

    /// The two-sided p-value that `a` and `b` come from populations of one mean; nil with fewer
    /// than two values on a side. Two samples without spread are the same (1) or differ (0).
    public static func pValue(_ a: [Double], _ b: [Double]) -> Double? {
        guard let first = Summary(a), let second = Summary(b) else { return nil }
        let firstError = first.variance / Double(first.count), secondError = second.variance / Double(second.count)
        let error = firstError + secondError
        guard error > 0 else { return first.mean == second.mean ? 1 : 0 }
        let t = (first.mean - second.mean) / error.squareRoot()
        let freedom = error * error / (firstError * firstError / Double(first.count - 1)
            + secondError * secondError / Double(second.count - 1))
        return incompleteBeta(freedom / (freedom + t * t), freedom / 2, 0.5)
    }

    /// I_x(a, b), the regularized incomplete beta function.
    static func incompleteBeta(_ x: Double, _ a: Double, _ b: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let logGammas: Double = lgamma(a + b) - lgamma(a) - lgamma(b)
        let logPowers: Double = a * log(x) + b * log(1 - x)
        let front = exp(logGammas + logPowers)
        // The continued fraction converges fast for x below (a + 1) / (a + b + 2); above, use the symmetry.
        if x < (a + 1) / (a + b + 2) { return front * continuedFraction(x, a, b) / a }
        return 1 - front * continuedFraction(1 - x, b, a) / b
    }

    /// Lentz's method for the continued fraction of I_x(a, b).
    static func continuedFraction(_ x: Double, _ a: Double, _ b: Double) -> Double {
        let tiny = 1e-300, epsilon = 1e-15
        var c = 1.0, d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var result = d
        for m in 1 ... 300 {
            let m = Double(m), twoM = 2 * m
            var step = m * (b - m) * x / ((a + twoM - 1) * (a + twoM))
            d = 1 + step * d
            if abs(d) < tiny { d = tiny }
            c = 1 + step / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            result *= d * c
            step = -(a + m) * (a + b + m) * x / ((a + twoM) * (a + twoM + 1))
            d = 1 + step * d
            if abs(d) < tiny { d = tiny }
            c = 1 + step / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let change = d * c
            result *= change
            if abs(change - 1) < epsilon { break }
        }
        return result
    }
}
