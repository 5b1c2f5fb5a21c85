import ArgumentParser
import PopulateBench
import Experiments
import Results
import VMM

// `bench run --matrix NAME`: help and completion scripts list every named matrix.
extension RunPlan.Matrix: ExpressibleByArgument {}
