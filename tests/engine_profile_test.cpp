// Engine identity -> sampler profile: the table of docs/sampler-spec.md §9 (each row from a vLLM or
// SGLang pull request), refusals that name the engine and version, and import of the `engine`
// object (an explicit sampler.profile wins; unknown keys are errors; signed seeds).
#include "fssl/engine_profile.h"

#include <gtest/gtest.h>

#include "fssl/archive_import.h"

namespace fssl {
namespace {

std::string vllm(const std::string& version, const std::string& runner = "v2", bool fp64 = false) {
  EngineIdentity e;
  e.name = "vllm";
  e.version = version;
  e.model_runner = runner;
  e.fp64_gumbel = fp64;
  return engine_profile(e);
}

void refused(const EngineIdentity& e, const std::string& needle) {
  try {
    engine_profile(e);
    ADD_FAILURE() << "accepted " << e.name << " " << e.version;
  } catch (const EngineError& err) {
    EXPECT_NE(std::string(err.what()).find(needle), std::string::npos) << err.what();
  }
}

TEST(EngineProfile, VllmModelRunnerV2VersionsMapToTheirNoise) {
  EXPECT_EQ(vllm("0.16.0"), "vllm-mrv2:noise=fp64-eps20");
  EXPECT_EQ(vllm("0.17.1"), "vllm-mrv2:noise=fp32-log-1e-7");  // vllm#34854
  EXPECT_EQ(vllm("0.18.0"), "vllm-mrv2:noise=fp32-log-1e-7");
  EXPECT_EQ(vllm("v0.19.0"), "vllm-mrv2:noise=fp64");  // vllm#37798
  EXPECT_EQ(vllm("0.20.2+cu130"), "vllm-mrv2:noise=fp64");
  EXPECT_EQ(vllm("0.21.0"), "vllm-mrv2:noise=fp32-log-tiny");  // vllm#41775
  EXPECT_EQ(vllm("0.23.0"), "vllm-mrv2:noise=fp32-log-tiny");
  EXPECT_EQ(vllm("0.23.0", "v2", true), "vllm-mrv2:noise=fp64");
  EXPECT_EQ(vllm("0.24.0"), "vllm-mrv2:noise=fp32-log1p");  // vllm#45996
  EXPECT_EQ(vllm("0.28.0"), "vllm-mrv2:noise=fp32-log1p");
  EXPECT_EQ(vllm("0.26.1", "v2", true), "vllm-mrv2:noise=fp64");
  EXPECT_EQ(vllm("0.26.1", ""), "vllm-mrv2:noise=fp32-log1p");  // V2 is the dense default from 0.25
}

// vllm#51367's Murmur3 noise: the default from 0.30; 0.29 must say which noise it draws.
TEST(EngineProfile, VllmMurmur3NoiseFromItsReleaseOnAndWhereTheLogSaysSo) {
  EXPECT_EQ(vllm("0.30.0"), "vllm-mrv2:noise=murmur3");
  EXPECT_EQ(vllm("0.31.2", "", false), "vllm-mrv2:noise=murmur3");
  EXPECT_EQ(vllm("0.30.1", "v2", true), "vllm-mrv2:noise=murmur3-fp64");
  EngineIdentity e;
  e.name = "vllm";
  e.version = "0.29.0";
  refused(e, "\"gumbel_noise\": \"philox\" or \"murmur3\"");
  e.gumbel_noise = "murmur3";
  EXPECT_EQ(engine_profile(e), "vllm-mrv2:noise=murmur3");
  e.fp_fusion = false;  // Triton 3.10's default, or TRITON_DEFAULT_FP_FUSION=0
  EXPECT_EQ(engine_profile(e), "vllm-mrv2:noise=murmur3-unfused");
  e.gumbel_noise = "philox";
  EXPECT_EQ(engine_profile(e), "vllm-mrv2:noise=fp32-log1p");
  e.fp64_gumbel = true;
  EXPECT_EQ(engine_profile(e), "vllm-mrv2:noise=fp64");
  e.version = "0.32.0";
  EXPECT_EQ(engine_profile(e), "vllm-mrv2:noise=fp64");  // a later server that kept Philox says so
  e.gumbel_noise = "murmur3";
  e.version = "0.28.0";
  refused(e, "does not exist before 0.29");
  e.gumbel_noise = "xorshift";
  refused(e, "gumbel_noise 'xorshift'");
  e.gumbel_noise = "murmur3";
  e.version = "0.30.0";
  e.model_runner = "v1";
  e.sm_count = 132;
  refused(e, "are Model Runner V2 fields");
}

TEST(EngineProfile, VllmV1RunnerIsVllmCudaAndNeedsTheGpu) {
  EngineIdentity e;
  e.name = "vllm";
  e.version = "0.24.0";  // before 0.25 the default runner is V1
  refused(e, "needs the GPU's sm_count");
  e.sm_count = 132;
  EXPECT_EQ(engine_profile(e), "vllm-cuda:sm_count=132");
  e.model_runner = "v1";
  e.version = "0.27.0";
  e.max_threads_per_sm = 1536;
  EXPECT_EQ(engine_profile(e), "vllm-cuda:sm_count=132,max_threads_per_sm=1536");
}

TEST(EngineProfile, UnreproducedSamplersAreRefusedByName) {
  EngineIdentity e;
  e.name = "vllm";
  e.model_runner = "v2";
  e.version = "0.18.0";
  e.fp64_gumbel = true;
  refused(e, "fp64_gumbel does not exist before 0.21");
  e.fp64_gumbel = false;
  e.version = "zero";
  refused(e, "not MAJOR.MINOR");
  e.version = "0.22";
  e.model_runner = "v3";
  refused(e, "model_runner 'v3'");
  e = EngineIdentity{};
  e.name = "sglang";
  e.version = "0.5.7";
  refused(e, "multiplicative hashes");
  e.version = "0.5.10";
  EXPECT_EQ(engine_profile(e), "sglang:noise=murmur3");
  e.logits_dtype = "bf16";  // the bf16 lm_head: its sort sees bf16 logits
  EXPECT_EQ(engine_profile(e), "sglang:noise=murmur3,logits=bf16");
  e.logits_dtype = "fp16";
  refused(e, "logits_dtype 'fp16'");
  e.logits_dtype.clear();
  e.name = "tensorrt-llm";
  refused(e, "engine 'tensorrt-llm' is unknown");
}

ImportDefaults defaults() {
  ImportDefaults d;
  d.vocab_size = 100;
  d.model_fingerprint = std::string(64, 'f');
  d.sampler.profile = "fssl-philox";
  return d;
}

TEST(EngineProfile, ImportMapsTheEngineObject) {
  const std::string engine = R"("engine":{"name":"vllm","version":"0.26.1","model_runner":"v2","fp64_gumbel":false})";
  auto records =
      import_parse_line(R"({"prompt_token_ids":[1],"output_token_ids":[2],"seed":-3,)" + engine + "}", defaults(), 0);
  EXPECT_EQ(records.at(0).sampler.profile, "vllm-mrv2:noise=fp32-log1p");
  EXPECT_EQ(records.at(0).seed, 0xFFFFFFFFFFFFFFFDull);  // int64 -3 as the kernel's uint64
  // An explicit profile wins over the engine.
  records = import_parse_line(R"({"prompt_token_ids":[1],"output_token_ids":[2],"seed":3,)" + engine +
                                  R"(,"sampler":{"profile":"vllm-mrv2:noise=fp64"}})",
                              defaults(), 0);
  EXPECT_EQ(records.at(0).sampler.profile, "vllm-mrv2:noise=fp64");
  // Unknown keys and refused versions are bad lines naming the cause.
  EXPECT_THROW(import_parse_line(R"({"prompt_token_ids":[1],"output_token_ids":[2],"seed":3,)"
                                 R"("engine":{"name":"vllm","version":"0.26.1","runner":"v2"}})",
                                 defaults(), 0),
               ImportLineError);
  try {
    import_parse_line(R"({"prompt_token_ids":[1],"output_token_ids":[2],"seed":3,)"
                      R"("engine":{"name":"sglang","version":"0.4.0"}})",
                      defaults(), 0);
    ADD_FAILURE() << "accepted sglang 0.4.0";
  } catch (const ImportLineError& e) {
    EXPECT_EQ(e.reason(), "invalid engine");
  }
  // The Murmur3 keys, and their types.
  records = import_parse_line(R"({"prompt_token_ids":[1],"output_token_ids":[2],"seed":3,)"
                              R"("engine":{"name":"vllm","version":"0.29.1","gumbel_noise":"murmur3","fp_fusion":false}})",
                              defaults(), 0);
  EXPECT_EQ(records.at(0).sampler.profile, "vllm-mrv2:noise=murmur3-unfused");
  EXPECT_THROW(import_parse_line(R"({"prompt_token_ids":[1],"output_token_ids":[2],"seed":3,)"
                                 R"("engine":{"name":"vllm","version":"0.30.0","fp_fusion":"yes"}})",
                                 defaults(), 0),
               ImportLineError);
  // A negative seed is refused where the engine does not take int64 seeds.
  EXPECT_THROW(import_parse_line(R"({"prompt_token_ids":[1],"output_token_ids":[2],"seed":-3})", defaults(), 0),
               ImportLineError);
}


// Model Runner V2 released min_tokens' stop ids one row late before vllm#46243: the profile says so
// for messages that set min_tokens (others keep the plain profile), and 0.24 must say which it is.
TEST(EngineProfile, VllmV2MinTokensReleaseByVersion) {
  EngineIdentity e;
  e.name = "vllm";
  e.version = "0.23.0";
  e.model_runner = "v2";
  EXPECT_EQ(engine_profile(e), "vllm-mrv2:noise=fp32-log-tiny");
  EXPECT_EQ(engine_profile(e, true), "vllm-mrv2:noise=fp32-log-tiny,min_tokens=late");
  e.version = "0.25.0";
  EXPECT_EQ(engine_profile(e, true), "vllm-mrv2:noise=fp32-log1p");
  e.version = "0.24.0";
  EXPECT_EQ(engine_profile(e), "vllm-mrv2:noise=fp32-log1p");
  try {
    engine_profile(e, true);
    ADD_FAILURE() << "0.24 with min_tokens accepted without min_tokens_late";
  } catch (const EngineError& err) {
    EXPECT_NE(std::string(err.what()).find("min_tokens_late"), std::string::npos) << err.what();
  }
  e.min_tokens_late = true;
  EXPECT_EQ(engine_profile(e, true), "vllm-mrv2:noise=fp32-log1p,min_tokens=late");
  e.min_tokens_late = false;
  EXPECT_EQ(engine_profile(e, true), "vllm-mrv2:noise=fp32-log1p");
  // Import passes the line's min_tokens on.
  auto records = import_parse_line(
      R"({"prompt_token_ids":[1],"output_token_ids":[2],"seed":3,"sampler":{"min_tokens":4,"stop_token_ids":[2]},)"
      R"("engine":{"name":"vllm","version":"0.22.0","model_runner":"v2"}})",
      defaults(), 0);
  EXPECT_EQ(records.at(0).sampler.profile, "vllm-mrv2:noise=fp32-log-tiny,min_tokens=late");
  EXPECT_EQ(records.at(0).sampler.processors.min_tokens, 4);
}

}  // namespace
}  // namespace fssl
