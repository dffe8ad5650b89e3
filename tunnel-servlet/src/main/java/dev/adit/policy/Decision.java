package dev.adit.policy;

import java.util.Objects;

/**
 * The outcome of a {@link DestinationPolicy} check.
 *
 * @param allowed whether the tunnel may proceed
 * @param reason for logs and error bodies, naming the rule that decided, e.g.
 *     {@code denied by rule "10.0.0.0/8"} or {@code no allow rule matches}
 */
public record Decision(boolean allowed, String reason) {
  public Decision {
    Objects.requireNonNull(reason, "reason");
    if (reason.isBlank()) {
      throw new IllegalArgumentException("reason: \"" + reason + "\" (expected: not blank)");
    }
  }

  public static Decision allow(String reason) {
    return new Decision(true, reason);
  }

  public static Decision deny(String reason) {
    return new Decision(false, reason);
  }
}
