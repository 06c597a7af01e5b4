-- expect: none
ALTER TABLE measurements DETACH PARTITION measurements_2022 CONCURRENTLY;
