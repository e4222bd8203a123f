package flow

import "github.com/canaryflow/canaryflow/internal/config"

// OptionsFrom turns the release section of canaryflow.yaml into a Flow's
// options. The flow commands and the pipeline's Build stage both use it, so
// the mapping is written once, beside the options it fills.
func OptionsFrom(r config.Release) Options {
	return Options{
		MainBranch: r.MainBranch, DevelopBranch: r.DevelopBranch,
		FeaturePrefix: r.FeaturePrefix, ReleasePrefix: r.ReleasePrefix, HotfixPrefix: r.HotfixPrefix,
		TagPrefix: r.TagPrefix, Remote: r.Remote, VersionFiles: r.VersionFiles,
	}
}
