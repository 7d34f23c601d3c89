-- Seed the event catalog: the nine event codes with their titles, a
-- one-line description and the example payload an integrator tests with.
-- depends: 0001_schema

INSERT INTO webhooks.event_type (code, title, description, example_payload)
VALUES
    ('import.started', 'Import Started', 'When an import process starts.', $json$
{
  "id": "d88ab663-96d8-493a-b7a4-0832e1bbeb6d",
  "createdAt": "2011-10-05T14:48:00.000Z",
  "operatorId": "4b32dade-da90-4f53-a66f-b776fab25a81",
  "status": "new",
  "entity": "product",
  "source": "csv",
  "entityCount": 1502,
  "processedOk": 0,
  "processedFails": 0,
  "additionalInformation": {}
}
$json$),
    ('import.finished', 'Import Finished', 'When an import process finishes, successfully or not.', $json$
{
  "id": "d88ab663-96d8-493a-b7a4-0832e1bbeb6d",
  "createdAt": "2011-10-05T14:48:00.000Z",
  "updatedAt": "2011-10-05T15:01:20.000Z",
  "operatorId": "4b32dade-da90-4f53-a66f-b776fab25a81",
  "status": "finished",
  "entity": "product",
  "source": "csv",
  "entityCount": 1502,
  "processedOk": 1500,
  "processedFails": 2,
  "additionalInformation": {}
}
$json$),
    ('order.created', 'Order Created', 'When an order is created.', $json$
{
  "id": "6f1f6af7-d8bb-4e35-98f3-b80c1cd8a42d",
  "createdAt": "2023-11-09T17:23:20.707Z",
  "cartId": "6acc0f70-5d7c-4e31-b8a6-5fcb2f267e4a",
  "owner": "03320828-c63a-43ca-84ed-bc30b0054457",
  "creator": {
    "userType": "customer",
    "userId": "03320828-c63a-43ca-84ed-bc30b0054457"
  },
  "state": "pending",
  "orderNumber": "0000000001",
  "currencyCode": "ARS",
  "items": [
    {
      "id": "ec24e065-f53d-4f05-b749-2c1d83736b32",
      "productId": "b96e451a-fb88-4330-9c47-299e015cf376",
      "finalProductId": "b96e451a-fb88-4330-9c47-299e015cf376",
      "qtyOrdered": 1,
      "qtyInvoiced": 0,
      "qtyShipped": 0,
      "shippable": true,
      "taxes": [],
      "details": {
        "name": "simple",
        "sku": "simple"
      },
      "totals": {
        "unit": 10,
        "unitDiscount": 0,
        "subtotal": 10,
        "discount": 0,
        "tax": 0,
        "grandTotal": 10
      }
    }
  ],
  "shippingAddresses": [
    {
      "id": "7b295b60-e89e-49b7-ae20-b4a222029797",
      "personalInfo": {
        "firstName": "Ana",
        "lastName": "Example"
      },
      "countryCode": "AR",
      "regionCode": "AR-B",
      "city": "Buenos Aires",
      "postalCode": "7890",
      "street": "Fake St. 1234\n",
      "phone": "5550100000",
      "shippingMethods": [
        {
          "id": "8e568898-51f8-4b8c-9a4f-a4a44fc28fe5",
          "carrierCode": "streto",
          "methodCode": "offline",
          "totals": {
            "shipping": 0
          },
          "items": [
            {
              "itemId": "ec24e065-f53d-4f05-b749-2c1d83736b32",
              "qty": 1
            }
          ],
          "additionalInformation": {
            "title": "Offline"
          }
        }
      ],
      "totals": {
        "shipping": 0
      }
    }
  ],
  "billingAddresses": [
    {
      "id": "13eebd80-019a-40f8-b61a-d39ff609cff0",
      "personalInfo": {
        "firstName": "Ana",
        "lastName": "Example"
      },
      "countryCode": "AR",
      "regionCode": "AR-B",
      "city": "Buenos Aires",
      "postalCode": "7890",
      "street": "Fake St. 1234\n",
      "phone": "5550100000",
      "notes": ""
    }
  ],
  "paymentMethods": [
    {
      "id": "46c70b13-8d53-4725-9d4e-c93bdb947bfa",
      "code": "mobbex",
      "additionalInformation": {
        "title": "Mobbex"
      }
    }
  ],
  "coupons": [],
  "history": [
    {
      "id": "f8cf65a6-555c-4d3d-950e-b69e61530f22",
      "createdAt": "2023-11-09T17:23:20.663Z",
      "title": "Order created",
      "stateFrom": null,
      "stateTo": "pending"
    }
  ],
  "totals": {
    "globalTax": 0,
    "subtotal": 10,
    "shipping": 0,
    "tax": 0,
    "promotionsDiscount": 0,
    "couponsDiscount": 0,
    "globalDiscount": 0,
    "discount": 0,
    "grandTotal": 10
  }
}
$json$),
    ('order.updated', 'Order Updated', 'When an order has a relevant update (not every update triggers it).', $json$
{
  "id": "6f1f6af7-d8bb-4e35-98f3-b80c1cd8a42d",
  "createdAt": "2023-11-09T17:23:20.707Z",
  "updatedAt": "2024-01-15T16:40:36.829Z",
  "cartId": "6acc0f70-5d7c-4e31-b8a6-5fcb2f267e4a",
  "owner": "03320828-c63a-43ca-84ed-bc30b0054457",
  "creator": {
    "userType": "customer",
    "userId": "03320828-c63a-43ca-84ed-bc30b0054457"
  },
  "state": "canceled",
  "orderNumber": "0000000001",
  "currencyCode": "ARS",
  "items": [
    {
      "id": "ec24e065-f53d-4f05-b749-2c1d83736b32",
      "productId": "b96e451a-fb88-4330-9c47-299e015cf376",
      "finalProductId": "b96e451a-fb88-4330-9c47-299e015cf376",
      "qtyOrdered": 1,
      "qtyInvoiced": 0,
      "qtyShipped": 0,
      "shippable": true,
      "taxes": [],
      "details": {
        "name": "simple",
        "sku": "simple"
      },
      "totals": {
        "unit": 10,
        "unitDiscount": 0,
        "subtotal": 10,
        "discount": 0,
        "tax": 0,
        "grandTotal": 10
      }
    }
  ],
  "shippingAddresses": [
    {
      "id": "7b295b60-e89e-49b7-ae20-b4a222029797",
      "personalInfo": {
        "firstName": "Ana",
        "lastName": "Example"
      },
      "countryCode": "AR",
      "regionCode": "AR-B",
      "city": "Buenos Aires",
      "postalCode": "7890",
      "street": "Fake St. 1234\n",
      "phone": "5550100000",
      "shippingMethods": [
        {
          "id": "8e568898-51f8-4b8c-9a4f-a4a44fc28fe5",
          "carrierCode": "streto",
          "methodCode": "offline",
          "totals": {
            "shipping": 0
          },
          "items": [
            {
              "itemId": "ec24e065-f53d-4f05-b749-2c1d83736b32",
              "qty": 1
            }
          ],
          "additionalInformation": {
            "title": "Offline"
          }
        }
      ],
      "totals": {
        "shipping": 0
      }
    }
  ],
  "billingAddresses": [
    {
      "id": "13eebd80-019a-40f8-b61a-d39ff609cff0",
      "personalInfo": {
        "firstName": "Ana",
        "lastName": "Example"
      },
      "countryCode": "AR",
      "regionCode": "AR-B",
      "city": "Buenos Aires",
      "postalCode": "7890",
      "street": "Fake St. 1234\n",
      "phone": "5550100000",
      "notes": ""
    }
  ],
  "paymentMethods": [
    {
      "id": "46c70b13-8d53-4725-9d4e-c93bdb947bfa",
      "code": "mobbex",
      "additionalInformation": {
        "title": "Mobbex"
      }
    }
  ],
  "coupons": [],
  "history": [
    {
      "id": "f8cf65a6-555c-4d3d-950e-b69e61530f22",
      "createdAt": "2023-11-09T17:23:20.663Z",
      "title": "Order created",
      "stateFrom": null,
      "stateTo": "pending"
    },
    {
      "id": "6e21bc7e-1edd-456f-a502-9d17d449d7c0",
      "createdAt": "2024-01-15T14:06:25.932Z",
      "title": "Pago rechazado",
      "stateFrom": "pending",
      "stateTo": "canceled",
      "details": {
        "user": {
          "type": "operator",
          "id": "d259bdf5-d386-4477-bafb-a0582c0fd55c",
          "name": "Operator One"
        }
      }
    }
  ],
  "totals": {
    "globalTax": 0,
    "subtotal": 10,
    "shipping": 0,
    "tax": 0,
    "promotionsDiscount": 0,
    "couponsDiscount": 0,
    "globalDiscount": 0,
    "discount": 0,
    "grandTotal": 10
  }
}
$json$),
    ('shipment.created', 'Shipment Created', 'When a shipment is created.', $json$
{
  "id": "3c990b9e-9707-4910-868e-07c85f23f670",
  "createdAt": "2024-01-23T18:50:59.356Z",
  "orderId": "fdb5edad-a8c8-4c24-b512-6eabeb66de29",
  "state": "pending",
  "number": "S000000000030",
  "extra": {
    "strategyCode": "andreani",
    "methodCode": "option_2",
    "senderFullName": "Main",
    "recipientFullName": "Bruno Sample",
    "originAddress": {
      "countryCode": "AR",
      "regionCode": "AR-B",
      "city": "Mar del Plata",
      "postalCode": "7600",
      "street": "Luro 1230",
      "number": "500"
    },
    "shippingAddress": {
      "countryCode": "AR",
      "regionCode": "AR-H",
      "city": "Tandil",
      "postalCode": "7000",
      "street": "Alberdi 350",
      "number": "78"
    },
    "order": {}
  },
  "strategyCode": "andreani",
  "methodCode": "option_4"
}
$json$),
    ('shipment.updated', 'Shipment Updated', 'When a shipment has a relevant update (not every update triggers it).', $json$
{
  "id": "3c990b9e-9707-4910-868e-07c85f23f670",
  "createdAt": "2024-01-23T18:50:59.356Z",
  "updatedAt": "2024-02-02T17:40:54.468Z",
  "orderId": "fdb5edad-a8c8-4c24-b512-6eabeb66de29",
  "state": "canceled",
  "number": "S000000000030",
  "extra": {
    "strategyCode": "andreani",
    "methodCode": "option_2",
    "senderFullName": "Main",
    "recipientFullName": "Bruno Sample",
    "originAddress": {
      "countryCode": "AR",
      "regionCode": "AR-B",
      "city": "Mar del Plata",
      "postalCode": "7600",
      "street": "Luro 1230",
      "number": "500"
    },
    "shippingAddress": {
      "countryCode": "AR",
      "regionCode": "AR-H",
      "city": "Tandil",
      "postalCode": "7000",
      "street": "Alberdi 350",
      "number": "78"
    },
    "order": {},
    "update": {}
  },
  "strategyCode": "andreani",
  "methodCode": "option_4"
}
$json$),
    ('invoice.created', 'Invoice Created', 'When an invoice is created.', $json$
{
  "id": "0d18374e-d515-4ac1-87f9-3fcd99aa7cdc",
  "createdAt": "2024-02-21T14:10:34.411Z",
  "orderId": "f1808856-c7bf-44f6-a1ec-7b17a03e142a",
  "number": "I000000000003"
}
$json$),
    ('product.created', 'Product Created', 'When a product is created.', $json$
{
  "id": "6b8b4fd5-0855-4c98-aef9-4de53f3ae5b5",
  "createdAt": "2024-03-06T18:57:33.762Z",
  "type": "simple",
  "attributes": {
    "name": "X1-2",
    "sku": "X1",
    "enabled": true
  },
  "scopedAttributes": {},
  "attributeSets": [
    "f95ef996-f263-4ed9-8d1f-f4c70ca18102"
  ]
}
$json$),
    ('product.updated', 'Product Updated', 'When a product is updated.', $json$
{
  "id": "6b8b4fd5-0855-4c98-aef9-4de53f3ae5b5",
  "createdAt": "2024-03-06T18:57:33.762Z",
  "type": "simple",
  "attributes": {
    "name": "X1-2",
    "sku": "X1",
    "enabled": true
  },
  "scopedAttributes": {},
  "attributeSets": [
    "f95ef996-f263-4ed9-8d1f-f4c70ca18102"
  ],
  "updatedAt": "2024-03-22T17:33:18.299Z"
}
$json$);
