// Names and constants of the log archive format v2 (docs/archive-format.md is the specification;
// readers also read v1 shards, which lack the v2 datasets and the engine table).
// Everything a writer or reader must agree on lives here: file and dataset names, attribute names,
// domain-separation tags, version, and the layout fssl's own writer chooses.
#pragma once

#include <cstdint>
#include <string>

namespace fssl::archive_format {

inline constexpr char kFormat[] = "fssl-archive";
inline constexpr std::int64_t kVersion = 2;      // what the writer writes
inline constexpr std::int64_t kOldestVersion = 1;  // readers accept kOldestVersion .. kVersion
inline constexpr char kManifestFormat[] = "fssl-archive-manifest";
inline constexpr std::int64_t kManifestVersion = 1;  // the manifest did not change with shard format v2
inline constexpr char kManifestFile[] = "manifest.json";
inline constexpr char kPartialSuffix[] = ".partial";
inline constexpr char kLockFile[] = ".lock";

// Root attributes of a shard.
inline constexpr char kAttrFormat[] = "format";
inline constexpr char kAttrVersion[] = "format_version";
inline constexpr char kAttrShardIndex[] = "shard_index";
inline constexpr char kAttrChainGenesis[] = "chain_genesis";
inline constexpr char kAttrChainHead[] = "chain_head";
inline constexpr char kAttrChainHmac[] = "chain_hmac";
inline constexpr char kAttrModels[] = "models";
inline constexpr char kAttrSamplerProfiles[] = "sampler_profiles";
inline constexpr char kAttrServers[] = "servers";
inline constexpr char kAttrEngines[] = "engines";  // v2

// Datasets of a shard.
inline constexpr char kTokens[] = "/tokens";                              // int32 [T]
inline constexpr char kMessages[] = "/messages";
inline constexpr char kMessageId[] = "/messages/message_id";              // uint64 [N]
inline constexpr char kTimestampUs[] = "/messages/timestamp_us";          // int64 [N]
inline constexpr char kPromptOffset[] = "/messages/prompt_offset";        // int64 [N]
inline constexpr char kPromptLength[] = "/messages/prompt_length";        // int32 [N]
inline constexpr char kOutputOffset[] = "/messages/output_offset";        // int64 [N]
inline constexpr char kOutputLength[] = "/messages/output_length";        // int32 [N]
inline constexpr char kSeed[] = "/messages/seed";                         // uint64 [N]
inline constexpr char kSamplerProfile[] = "/messages/sampler_profile";    // uint16 [N]
inline constexpr char kTemperature[] = "/messages/temperature";           // float32 [N]
inline constexpr char kTopK[] = "/messages/top_k";                        // int32 [N]
inline constexpr char kTopP[] = "/messages/top_p";                        // float32 [N]
inline constexpr char kMinP[] = "/messages/min_p";                        // float32 [N]
inline constexpr char kModel[] = "/messages/model";                       // uint16 [N]
inline constexpr char kServer[] = "/messages/server";                     // uint32 [N]
inline constexpr char kDigest[] = "/messages/digest";                     // uint8 [N, 32]

// Format v2: logits processors and the engine (section 2.5).
inline constexpr char kRepetitionPenalty[] = "/messages/repetition_penalty";  // float32 [N]
inline constexpr char kPresencePenalty[] = "/messages/presence_penalty";      // float32 [N]
inline constexpr char kFrequencyPenalty[] = "/messages/frequency_penalty";    // float32 [N]
inline constexpr char kMinTokens[] = "/messages/min_tokens";                  // int32 [N]
inline constexpr char kRepeatLastN[] = "/messages/repeat_last_n";             // int32 [N]
inline constexpr char kEngine[] = "/messages/engine";                         // uint16 [N]
inline constexpr char kStopOffset[] = "/messages/stop_offset";                // int64 [N]
inline constexpr char kStopLength[] = "/messages/stop_length";                // int32 [N]
inline constexpr char kAllowedOffset[] = "/messages/allowed_offset";          // int64 [N]
inline constexpr char kAllowedLength[] = "/messages/allowed_length";          // int32 [N]
inline constexpr char kLogitBiasOffset[] = "/messages/logit_bias_offset";     // int64 [N]
inline constexpr char kLogitBiasLength[] = "/messages/logit_bias_length";     // int32 [N]
inline constexpr char kBadWordsOffset[] = "/messages/bad_words_offset";       // int64 [N]
inline constexpr char kBadWordsLength[] = "/messages/bad_words_length";       // int32 [N]
inline constexpr char kProcessors[] = "/processors";
inline constexpr char kStopTokenIds[] = "/processors/stop_token_ids";         // int32 [S]
inline constexpr char kAllowedTokenIds[] = "/processors/allowed_token_ids";   // int32 [A]
inline constexpr char kLogitBiasTokenId[] = "/processors/logit_bias_token_id";  // int32 [B]
inline constexpr char kLogitBiasValue[] = "/processors/logit_bias_value";     // float32 [B]
inline constexpr char kBadWords[] = "/processors/bad_words";                  // int32 [W], length-prefixed sequences

// Domain-separation tags of the hash chain and the HMACs (section 3).
inline constexpr char kRecordTag[] = "FSSLREC1";    // records without processors or engine
inline constexpr char kRecordTagV2[] = "FSSLREC2";  // records with either
inline constexpr char kChainHmacTag[] = "fssl-archive-v1/chain";
inline constexpr char kManifestHmacTag[] = "fssl-archive-v1/manifest";

// Layout chosen by fssl's writer (readers accept any); the /tokens chunk is WriterOptions::tokens_chunk.
inline constexpr std::uint64_t kMessagesChunk = 4096;   // rows per chunk of /messages/*
inline constexpr int kDeflateLevel = 4;

// Sampler-profile names fssl knows how to reproduce (validate warns on others); the sampler module's
// parser accepts exactly these (sampler_profile_test checks both ways).
inline constexpr const char* kKnownSamplerProfiles[] = {"fssl-philox", "vllm-cuda", "vllm-mrv2", "sglang",
                                                        "hf-torch-cpu", "llamacpp-dist"};

// "shard-000042.h5".
std::string shard_file_name(std::int64_t index);
// The profile name of a spec "name:key=value,...".
std::string sampler_profile_name(const std::string& spec);

}  // namespace fssl::archive_format
