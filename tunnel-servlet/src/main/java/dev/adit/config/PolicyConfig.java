package dev.adit.config;

import java.util.List;

/**
 * Which destinations tunnels may reach, as rule texts (parsed by {@code dev.adit.policy}).
 *
 * @param allow          rules a destination must match (by name or by resolved address)
 * @param deny           rules that refuse a destination, checked against the name and every
 *                       address it resolves to, and winning over {@code allow}
 * @param allowOpenProxy explicit consent to listen on a non-loopback address with a policy that
 *                       allows everything and no authentication (an open proxy)
 */
public record PolicyConfig(List<String> allow, List<String> deny, boolean allowOpenProxy)
{
    public static final PolicyConfig DEFAULTS = new PolicyConfig(List.of("*"), List.of(), false);

    public PolicyConfig
    {
        allow = List.copyOf(allow);
        deny = List.copyOf(deny);
    }
}
