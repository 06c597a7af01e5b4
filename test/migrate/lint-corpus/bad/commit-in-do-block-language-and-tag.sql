-- expect: commit-in-do-block
DO LANGUAGE plpgsql $body$
BEGIN
  UPDATE "Orders" SET "Status" = 'archived' WHERE "PlacedAt" < '2020-01-01';
  COMMIT;
END
$body$;
