Feature: Pump through the Rust engine
  With the native engine installed, cuprum moves bytes through it: payloads
  of any size arrive intact, a consumer that leaves early does no harm, and
  many pairs are served at once. Without the engine these scenarios are
  skipped, and a run that requires the engine fails instead.

  Background:
    Given the Rust backend is selected

  Scenario: A payload makes the round trip
    Given a producer with 1 MiB of data to send
    When the producer's output is pumped to the consumer
    Then no error is raised
    And the consumer receives exactly what the producer sent
    And the pump reports 1 MiB written

  Scenario: A large payload
    Given a producer with 64 MiB of data to send
    When the producer's output is pumped to the consumer
    Then no error is raised
    And the consumer receives exactly what the producer sent
    And the pump reports 64 MiB written

  Scenario: The consumer goes away
    Given a producer with 4 MiB of data to send
    And a consumer that has already gone away
    When the producer's output is pumped to the consumer
    Then no error is raised
    And the pump reports 0 bytes written
    And the producer is not left blocked

  Scenario: A batch of many pairs
    Given 200 producers, each with its own data to send
    When their outputs are pumped to their consumers together
    Then every consumer receives exactly what its producer sent
