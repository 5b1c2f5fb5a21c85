import ArgumentParser
import PopulateBench

// `bench run --matrix NAME`: help and completion scripts list every named matrix.
extension RunPlan.Matrix: ExpressibleByArgument {}
