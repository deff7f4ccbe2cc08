#include "fhir/json_patch.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace kavach::fhir {
namespace {

namespace json = boost::json;

json::value patched(const char* document, const char* patch) {
  auto result = apply_json_patch(json::parse(document), patch);
  EXPECT_TRUE(result) << patch << ": " << result.error().message;
  return result ? *result : json::value();
}

ErrorCode refusal(const char* document, const char* patch) {
  auto result = apply_json_patch(json::parse(document), patch);
  EXPECT_FALSE(result) << patch;
  return result ? ErrorCode::kInternal : result.error().code;
}

// The examples of RFC 6902, appendix A.
TEST(JsonPatch, AppliesTheRfcExamples) {
  EXPECT_EQ(patched(R"({"foo":"bar"})", R"([{"op":"add","path":"/baz","value":"qux"}])"),
            json::parse(R"({"baz":"qux","foo":"bar"})"));
  EXPECT_EQ(patched(R"({"foo":["bar","baz"]})", R"([{"op":"add","path":"/foo/1","value":"qux"}])"),
            json::parse(R"({"foo":["bar","qux","baz"]})"));
  EXPECT_EQ(patched(R"({"baz":"qux","foo":"bar"})", R"([{"op":"remove","path":"/baz"}])"),
            json::parse(R"({"foo":"bar"})"));
  EXPECT_EQ(patched(R"({"foo":["bar","qux","baz"]})", R"([{"op":"remove","path":"/foo/1"}])"),
            json::parse(R"({"foo":["bar","baz"]})"));
  EXPECT_EQ(
      patched(R"({"baz":"qux","foo":"bar"})", R"([{"op":"replace","path":"/baz","value":"boo"}])"),
      json::parse(R"({"baz":"boo","foo":"bar"})"));
  EXPECT_EQ(patched(R"({"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}})",
                    R"([{"op":"move","from":"/foo/waldo","path":"/qux/thud"}])"),
            json::parse(R"({"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}})"));
  EXPECT_EQ(patched(R"({"foo":["all","grass","cows","eat"]})",
                    R"([{"op":"move","from":"/foo/1","path":"/foo/3"}])"),
            json::parse(R"({"foo":["all","cows","eat","grass"]})"));
  EXPECT_EQ(patched(R"({"baz":"qux","foo":["a",2,"c"]})",
                    R"([{"op":"test","path":"/baz","value":"qux"},
                        {"op":"test","path":"/foo/1","value":2}])"),
            json::parse(R"({"baz":"qux","foo":["a",2,"c"]})"));
  EXPECT_EQ(
      patched(R"({"foo":"bar"})", R"([{"op":"add","path":"/child","value":{"grandchild":{}}}])"),
      json::parse(R"({"foo":"bar","child":{"grandchild":{}}})"));
  EXPECT_EQ(patched(R"({"/":9,"~1":10})", R"([{"op":"test","path":"/~01","value":10}])"),
            json::parse(R"({"/":9,"~1":10})"));
  EXPECT_EQ(
      patched(R"({"foo":["bar"]})", R"([{"op":"add","path":"/foo/-","value":["abc","def"]}])"),
      json::parse(R"({"foo":["bar",["abc","def"]]})"));
  EXPECT_EQ(patched(R"({"a":{"b":1}})", R"([{"op":"copy","from":"/a","path":"/c"}])"),
            json::parse(R"({"a":{"b":1},"c":{"b":1}})"));
}

TEST(JsonPatch, AFailedTestOrAMissingTargetIsUnprocessable) {
  EXPECT_EQ(refusal(R"({"baz":"qux"})", R"([{"op":"test","path":"/baz","value":"bar"}])"),
            ErrorCode::kUnprocessable);
  EXPECT_EQ(refusal(R"({"foo":"bar"})", R"([{"op":"add","path":"/baz/bat","value":"qux"}])"),
            ErrorCode::kUnprocessable);
  EXPECT_EQ(refusal(R"({"/":9,"~1":10})", R"([{"op":"test","path":"/~01","value":"10"}])"),
            ErrorCode::kUnprocessable);
  EXPECT_EQ(refusal(R"({"a":[1]})", R"([{"op":"remove","path":"/a/1"}])"),
            ErrorCode::kUnprocessable);
  EXPECT_EQ(refusal(R"({"a":[1]})", R"([{"op":"replace","path":"/a/01","value":2}])"),
            ErrorCode::kUnprocessable);
  EXPECT_EQ(refusal(R"({"a":1})", R"([{"op":"remove","path":""}])"), ErrorCode::kUnprocessable);
}

TEST(JsonPatch, MalformedPatchesAreRefusedAndTheDocumentIsUntouched) {
  for (const char* patch :
       {"not json", "{}", "[1]", R"([{"path":"/a"}])", R"([{"op":"add","path":"/a"}])",
        R"([{"op":"jump","path":"/a"}])", R"([{"op":"add","path":"a","value":1}])",
        R"([{"op":"test","path":"/~2","value":1}])", R"([{"op":"move","path":"/a/b","from":"/a"}])",
        R"([{"op":"copy","path":"/b"}])"}) {
    EXPECT_EQ(refusal(R"({"a":{"b":1}})", patch), ErrorCode::kInvalidArgument) << patch;
  }
  // A patch that fails half-way changes nothing: it works on a copy.
  const auto document = json::parse(R"({"a":1})");
  EXPECT_FALSE(apply_json_patch(document, R"([{"op":"replace","path":"/a","value":2},
                                              {"op":"test","path":"/a","value":3}])"));
  EXPECT_EQ(document, json::parse(R"({"a":1})"));
  std::string many = "[";
  for (std::size_t i = 0; i <= kJsonPatchOperationsMax; ++i) {
    many += R"({"op":"test","path":"/a","value":1},)";
  }
  many.back() = ']';
  EXPECT_EQ(apply_json_patch(document, many).error().code, ErrorCode::kTooLarge);
}

}  // namespace
}  // namespace kavach::fhir
