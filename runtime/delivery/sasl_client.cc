// sasl_client.cc: see sasl_client.h.
#include "runtime/delivery/sasl_client.h"

#include <sasl/sasl.h>
#include <sasl/saslutil.h>
#include <string.h>

#include <mutex>

#include "util/strings.h"

namespace postern::delivery {
namespace {

// Cyrus logs through syslog unless told otherwise; its lines are not
// posternd's (the reply texts say what failed).
int DiscardLog(void*, int, const char*) { return SASL_OK; }

template <typename Function>
int (*Callback(Function* f))(void) {
  // sasl_callback_t holds every callback as int(*)(void); the library
  // calls each with the arguments its id implies.
  return reinterpret_cast<int (*)(void)>(reinterpret_cast<void (*)(void)>(f));
}

// sasl_client_init once per process (it loads the plugins).
Status InitializeLibrary() {
  static std::once_flag once;
  static int status = SASL_OK;
  std::call_once(once, [] {
    static sasl_callback_t global[] = {{SASL_CB_LOG, Callback(&DiscardLog), nullptr},
                                       {SASL_CB_LIST_END, nullptr, nullptr}};
    status = sasl_client_init(global);
  });
  if (status != SASL_OK) {
    return Status::Temporary(std::string("SASL library initialization failed: ") +
                             sasl_errstring(status, nullptr, nullptr));
  }
  return Status::Ok();
}

std::string Encode(const char* data, unsigned length) {
  std::string out(((length + 2) / 3) * 4 + 1, '\0');
  unsigned written = 0;
  if (sasl_encode64(data, length, out.data(), static_cast<unsigned>(out.size()), &written) != SASL_OK) return "";
  out.resize(written);
  return out;
}

class CyrusSaslClient : public SaslClient {
 public:
  explicit CyrusSaslClient(SaslCredentials credentials) : credentials_(std::move(credentials)) {
    // The secret as the library wants it, kept (the library does not free it).
    secret_.resize(sizeof(sasl_secret_t) + credentials_.password.size() + 1);
    auto* secret = reinterpret_cast<sasl_secret_t*>(secret_.data());
    secret->len = credentials_.password.size();
    memcpy(secret->data, credentials_.password.c_str(), credentials_.password.size() + 1);
    // As Postfix without send_cyrus_sasl_authzid: an authentication name
    // and no separate authorization identity.
    callbacks_[0] = {SASL_CB_AUTHNAME, Callback(&User), this};
    callbacks_[1] = {SASL_CB_PASS, Callback(&Password), this};
    callbacks_[2] = {SASL_CB_LIST_END, nullptr, nullptr};
  }

  ~CyrusSaslClient() override {
    if (connection_ != nullptr) sasl_dispose(&connection_);
    explicit_bzero(secret_.data(), secret_.size());
    explicit_bzero(credentials_.password.data(), credentials_.password.size());
  }

  Status Open(const std::string& server_name, unsigned flags) {
    int status = sasl_client_new("smtp", server_name.c_str(), nullptr, nullptr, callbacks_, 0, &connection_);
    if (status != SASL_OK) return Failure("SASL per-connection initialization failed", status);
    sasl_security_properties_t properties{};
    properties.min_ssf = 0;
    properties.max_ssf = 0;  // no SASL security layer: TLS protects the session, as in Postfix
    properties.security_flags = flags;
    status = sasl_setprop(connection_, SASL_SEC_PROPS, &properties);
    if (status != SASL_OK) return Failure("cannot set SASL security properties", status);
    return Status::Ok();
  }

  Result<Start> Begin(std::string_view server_mechanisms) override {
    std::string list(server_mechanisms);
    const char* out = nullptr;
    unsigned length = 0;
    const char* mechanism = nullptr;
    int status = sasl_client_start(connection_, list.c_str(), nullptr, &out, &length, &mechanism);
    if (status != SASL_OK && status != SASL_CONTINUE) return Status::Temporary(Reason(status));
    Start start;
    start.mechanism = mechanism != nullptr ? mechanism : "";
    if (length > 0) start.initial_response = Encode(out, length);
    return start;
  }

  Result<std::string> Step(std::string_view challenge) override {
    std::string decoded(challenge.size() + 1, '\0');
    unsigned decoded_length = 0;
    int status = sasl_decode64(challenge.data(), static_cast<unsigned>(challenge.size()), decoded.data(),
                               static_cast<unsigned>(decoded.size()), &decoded_length);
    if (status != SASL_OK) return Status::Temporary(Reason(status));
    const char* out = nullptr;
    unsigned length = 0;
    status = sasl_client_step(connection_, decoded.data(), decoded_length, nullptr, &out, &length);
    if (status != SASL_OK && status != SASL_CONTINUE) return Status::Temporary(Reason(status));
    return length > 0 ? Encode(out, length) : std::string();
  }

 private:
  static int User(void* context, int id, const char** result, unsigned* length) {
    auto* self = static_cast<CyrusSaslClient*>(context);
    if (id != SASL_CB_AUTHNAME && id != SASL_CB_USER) return SASL_BADPARAM;
    *result = self->credentials_.username.c_str();
    if (length != nullptr) *length = static_cast<unsigned>(self->credentials_.username.size());
    return SASL_OK;
  }

  static int Password(sasl_conn_t*, void* context, int id, sasl_secret_t** secret) {
    auto* self = static_cast<CyrusSaslClient*>(context);
    if (id != SASL_CB_PASS || secret == nullptr) return SASL_BADPARAM;
    *secret = reinterpret_cast<sasl_secret_t*>(self->secret_.data());
    return SASL_OK;
  }

  static std::string Reason(int status) { return sasl_errstring(status, nullptr, nullptr); }

  static Status Failure(const std::string& what, int status) { return Status::Temporary(what + ": " + Reason(status)); }

  SaslCredentials credentials_;
  std::vector<unsigned char> secret_;
  sasl_callback_t callbacks_[3];
  sasl_conn_t* connection_ = nullptr;
};

}  // namespace

Result<unsigned> SaslSecurityFlags(const std::vector<std::string>& options) {
  struct Word {
    std::string_view name;
    unsigned flag;
  };
  static constexpr Word kWords[] = {
      {"noplaintext", SASL_SEC_NOPLAINTEXT},   {"noactive", SASL_SEC_NOACTIVE},
      {"nodictionary", SASL_SEC_NODICTIONARY}, {"noanonymous", SASL_SEC_NOANONYMOUS},
      {"mutual_auth", SASL_SEC_MUTUAL_AUTH},   {"forward_secrecy", SASL_SEC_FORWARD_SECRECY}};
  unsigned flags = 0;
  for (const std::string& option : options) {
    bool known = false;
    for (const Word& w : kWords) {
      if (EqualsIgnoreCase(option, w.name)) {
        flags |= w.flag;
        known = true;
      }
    }
    if (!known) return Status::Permanent("unknown SASL security option \"" + option + "\"");
  }
  return flags;
}

Result<std::unique_ptr<SaslClient>> NewCyrusSaslClient(const std::string& server_name, SaslCredentials credentials,
                                                       unsigned flags) {
  Status initialized = InitializeLibrary();
  if (!initialized.ok()) return initialized;
  auto client = std::make_unique<CyrusSaslClient>(std::move(credentials));
  Status opened = client->Open(server_name, flags);
  if (!opened.ok()) return opened;
  return std::unique_ptr<SaslClient>(std::move(client));
}

}  // namespace postern::delivery
